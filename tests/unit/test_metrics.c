/*
 * test_metrics.c — the metrics endpoint's pure parts (monitor/metrics.c): the exposition
 * of a known status object, line by line (names, HELP/TYPE once, base units, labels, +Inf,
 * the level none derived), label values escaped as the format wants, a family left out when
 * its figure is absent; the routing of requests; the address parser of [rangewatch]
 * metrics. The real scrape is tests/integration/metrics_prometheus.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const char *status_json =
    "{\"version\":\"0.4\",\"started\":1700000000,\"customers\":10,"
    "\"levels\":{\"watch\":3,\"warn\":2,\"act\":1},\"evaluation_ms\":250,"
    "\"capture\":{\"packets\":1234,\"drops\":7},"
    "\"lists\":[{\"name\":\"l1\",\"scope\":\"ip\",\"enabled\":true,\"health\":\"blocked\","
    "\"listed\":4,\"day_used\":12,\"max_per_day\":0,\"asked\":99,"
    "\"answers\":{\"listed\":1,\"clean\":2,\"blocked\":3,\"error\":4}},"
    "{\"name\":\"we\\\"ird\\\\na\\nme\",\"scope\":\"range\",\"enabled\":false,"
    "\"health\":\"unknown\",\"listed\":0,\"day_used\":0,\"max_per_day\":500}],"
    "\"policies\":[{\"name\":\"uceprotect-2\",\"scope\":\"range\",\"neighbourhoods\":3,"
    "\"bands\":{\"below\":1,\"warn\":1,\"act\":0,\"over\":1},\"pressure_max\":1.25,"
    "\"projected_max\":1.5,\"eta_seconds\":null}],"
    "\"dnsbl\":{\"asked\":99}}";

static char *
render(const char *json, size_t *len)
{
	json_error_t e;
	json_t *o = json_loads(json, 0, &e);
	char *t;

	assert_non_null(o);
	t = metrics_render(o, len);
	json_decref(o);
	assert_non_null(t);
	return t;
}

/* 1 when text holds line as a whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

static int
count(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)) != NULL; text++)
		n++;
	return n;
}

static void
test_render_known(void **state)
{
	size_t len;
	char *t = render(status_json, &len);
	static const char *const want[] = {
		"rangewatch_build_info{version=\"0.4\"} 1",
		"# TYPE rangewatch_start_time_seconds gauge",
		"rangewatch_start_time_seconds 1700000000",
		"rangewatch_customers 10",
		"rangewatch_customers_at_level{level=\"watch\"} 3",
		"rangewatch_customers_at_level{level=\"act\"} 1",
		"rangewatch_customers_at_level{level=\"none\"} 4",
		"rangewatch_evaluation_seconds 0.25",
		"# TYPE rangewatch_capture_packets_total counter",
		"rangewatch_capture_packets_total 1234",
		"rangewatch_capture_kernel_drops_total 7",
		"rangewatch_listings{list=\"l1\",scope=\"ip\"} 4",
		"rangewatch_list_health{list=\"l1\",health=\"blocked\"} 1",
		"rangewatch_list_health{list=\"l1\",health=\"ok\"} 0",
		"rangewatch_dnsbl_day_queries{list=\"l1\"} 12",
		"rangewatch_neighbourhoods{policy=\"uceprotect-2\",scope=\"range\",band=\"over\"} 1",
		"rangewatch_neighbourhoods{policy=\"uceprotect-2\",scope=\"range\",band=\"act\"} 0",
		"rangewatch_neighbourhood_projected_pressure_max_ratio{policy=\"uceprotect-2\","
		    "scope=\"range\"} 1.5",
		"rangewatch_neighbourhood_time_to_threshold_seconds{policy=\"uceprotect-2\","
		    "scope=\"range\"} +Inf",
		"rangewatch_dnsbl_queries_total{list=\"l1\"} 99",
		"rangewatch_dnsbl_answers_total{list=\"l1\",result=\"error\"} 4",
		"rangewatch_dnsbl_answers_total{list=\"l1\",result=\"clean\"} 2",
		/* the label value escaped: \" \\ \n */
		"rangewatch_listings{list=\"we\\\"ird\\\\na\\nme\",scope=\"range\"} 0",
		/* a budget only for a list that has one */
		"rangewatch_dnsbl_day_budget{list=\"we\\\"ird\\\\na\\nme\"} 500",
	};
	size_t i;

	(void)state;
	assert_int_equal(strlen(t), len);
	for (i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!has_line(t, want[i]))
			fail_msg("missing line: %s\n--- got:\n%s", want[i], t);
	assert_false(has_line(t, "rangewatch_dnsbl_day_budget{list=\"l1\"} 0"));
	/* one HELP and one TYPE per family */
	assert_int_equal(count(t, "# TYPE rangewatch_list_health "), 1);
	assert_int_equal(count(t, "# HELP rangewatch_list_health "), 1);
	assert_int_equal(count(t, "# TYPE "), count(t, "# HELP "));
	/* absent figures, absent families: no alerts, no hooks, no store in this status */
	assert_null(strstr(t, "rangewatch_alerts_"));
	assert_null(strstr(t, "rangewatch_hook_"));
	assert_null(strstr(t, "rangewatch_capture_ring_fill_ratio"));
	free(t);
}

static void
test_render_empty(void **state)
{
	size_t len;
	char *t = render("{}", &len);

	(void)state;
	/* nothing but the build info, and no label value from nowhere */
	assert_string_equal(t, "# HELP rangewatch_build_info Always 1; the version of the "
	    "status protocol in a label.\n# TYPE rangewatch_build_info gauge\n"
	    "rangewatch_build_info{version=\"\"} 1\n");
	free(t);
}

static void
test_route(void **state)
{
	(void)state;
	assert_int_equal(metrics_route("GET", "/metrics"), METRICS_R_METRICS);
	assert_int_equal(metrics_route("HEAD", "/metrics"), METRICS_R_METRICS);
	assert_int_equal(metrics_route("GET", "/"), METRICS_R_INDEX);
	assert_int_equal(metrics_route("POST", "/metrics"), METRICS_R_BAD_METHOD);
	assert_int_equal(metrics_route("get", "/metrics"), METRICS_R_BAD_METHOD);
	assert_int_equal(metrics_route("GET", "/metrics/"), METRICS_R_NOT_FOUND);
	assert_int_equal(metrics_route("GET", "/metrics?x"), METRICS_R_NOT_FOUND);
	assert_int_equal(metrics_route("GET", ""), METRICS_R_NOT_FOUND);
}

static void
test_parse_addr(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	char err[160], buf[INET6_ADDRSTRLEN];
	static const char *const bad[] = { "", "127.0.0.1", "localhost:9466", "127.0.0.1:0",
	    "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9466x", "::1:9466", "[::1]",
	    "[::1]9466", "[127.0.0.1]:9466", "1.2.3:80", ":9466", "127.0.0.1: 9466",
	    "[::1]:", "0x7f.0.0.1:80" };
	size_t i;

	(void)state;
	assert_int_equal(metrics_parse_addr("127.0.0.1:9466", &ss, &len, err, sizeof err), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 9466);
	assert_int_equal(len, sizeof *sin);
	assert_int_equal(metrics_parse_addr("[2001:db8::1]:65535", &ss, &len, err,
	    sizeof err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf),
	    "2001:db8::1");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (metrics_parse_addr(bad[i], &ss, &len, err, sizeof err) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != '\0');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_known),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_parse_addr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
