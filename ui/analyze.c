/*
 * analyze.c — the analyze subcommand: reads capture files through the same accounting the
 * daemon uses (probes/outbound) and prints a report, readable or as the JSON object of the
 * design's contract. Owns everything it loads; escapes every text that came from outside
 * (customer names, ids) before printing it.
 */
#include "analyze.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cite.h"
#include "config.h"
#include "customers.h"
#include "decode.h"
#include "dnsbl_lists.h"
#include "outbound.h"
#include "prefixes.h"
#include "text.h"
#include "traffic.h"

/* A sum of per-IP counters (a customer's, or a range's). */
struct total {
	struct traffic_ip c;	/* counters; c.dst is the union of the members' sets */
	uint32_t *cites;
	size_t nips;
	long customer;
	struct rw_cidr range;
};

struct report {
	struct rw_config *cfg;
	struct prefixes *space;
	struct customers *customers;
	struct traffic *traffic;
	struct outbound *outbound;
	struct dnsbl_lists *lists;	/* whose cite patterns tie a rejection to a list */
	size_t ncite;			/* lists: the length of every cites array */
};

static void
usage(void)
{
	fprintf(stderr, "usage: rangewatch analyze [-c FILE] [--json] [--bpf] CAPTURE...\n"
	    "       rangewatch analyze [-c FILE] [--json] -i INTERFACE [-t SECONDS]\n");
}

static void
total_add(struct total *t, const struct traffic_ip *ip, size_t ncite)
{
	size_t w;

	t->c.syn += ip->syn;
	t->c.sessions += ip->sessions;
	t->c.bytes_out += ip->bytes_out;
	t->c.mail_from += ip->mail_from;
	t->c.rcpt_to += ip->rcpt_to;
	t->c.data += ip->data;
	t->c.starttls += ip->starttls;
	t->c.replies_4xx += ip->replies_4xx;
	t->c.replies_5xx += ip->replies_5xx;
	t->c.cited += ip->cited;
	distinct_merge(&t->c.dst, &ip->dst);
	if (ip->cites) {
		if (t->cites == NULL)
			t->cites = calloc(ncite, sizeof *t->cites);
		for (w = 0; t->cites && w < ncite; w++)
			t->cites[w] += ip->cites[w];
	}
	t->nips++;
}

/* Activity order: recipients, then sessions, then SYNs; ties by address for stable output. */
static int
by_activity(const void *a, const void *b)
{
	const struct traffic_ip *x = *(const struct traffic_ip *const *)a;
	const struct traffic_ip *y = *(const struct traffic_ip *const *)b;

	if (x->rcpt_to != y->rcpt_to)
		return x->rcpt_to > y->rcpt_to ? -1 : 1;
	if (x->sessions != y->sessions)
		return x->sessions > y->sessions ? -1 : 1;
	if (x->syn != y->syn)
		return x->syn > y->syn ? -1 : 1;
	return addr_cmp(&x->addr, &y->addr);
}

static int
total_by_activity(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	const struct traffic_ip *px = &x->c, *py = &y->c;

	return by_activity(&px, &py);
}

struct ranged {
	struct rw_cidr range;
	const struct traffic_ip *ip;
};

static int
cidr_cmp(const struct rw_cidr *x, const struct rw_cidr *y)
{
	int c = addr_cmp(&x->net, &y->net);

	return c ? c : (x->plen > y->plen) - (x->plen < y->plen);
}

static int
by_range(const void *a, const void *b)
{
	return cidr_cmp(&((const struct ranged *)a)->range, &((const struct ranged *)b)->range);
}

static char *
escaped(const char *s, char *buf, size_t len)
{
	text_escape(buf, len, s, strlen(s));
	return buf;
}

static void
json_counters(json_t *o, const struct traffic_ip *c, const uint32_t *cites,
    const struct report *r)
{
	json_t *rc = json_object();
	size_t w;

	json_object_set_new(o, "syn", json_integer(c->syn));
	json_object_set_new(o, "sessions", json_integer(c->sessions));
	json_object_set_new(o, "dst_ips", json_integer((json_int_t)distinct_count(&c->dst)));
	if (distinct_is_estimate(&c->dst))
		json_object_set_new(o, "dst_ips_estimated", json_true());
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)c->bytes_out));
	json_object_set_new(o, "mail_from", json_integer(c->mail_from));
	json_object_set_new(o, "rcpt_to", json_integer(c->rcpt_to));
	json_object_set_new(o, "data", json_integer(c->data));
	json_object_set_new(o, "starttls", json_integer(c->starttls));
	json_object_set_new(o, "replies_4xx", json_integer(c->replies_4xx));
	json_object_set_new(o, "replies_5xx", json_integer(c->replies_5xx));
	for (w = 0; cites && w < r->ncite; w++)
		if (cites[w])
			json_object_set_new(rc, cite_list_name(w), json_integer(cites[w]));
	json_object_set_new(o, "rejections_citing", rc);
}

/* Customers' totals, in activity order. *n gets their number. */
static struct total *
customer_totals(const struct report *r, struct traffic_ip **ips, size_t nips, size_t *n)
{
	size_t nc = r->customers ? customers_count(r->customers) : 0, i, k = 0;
	struct total *t = calloc(nc ? nc : 1, sizeof *t);
	long *slot = calloc(nc ? nc : 1, sizeof *slot);

	if (t == NULL || slot == NULL) {
		free(t);
		free(slot);
		return NULL;
	}
	for (i = 0; i < nc; i++)
		slot[i] = -1;
	for (i = 0; i < nips; i++) {
		long c = ips[i]->customer;
		if (c < 0)
			continue;
		if (slot[c] < 0) {
			slot[c] = (long)k;
			t[k].customer = c;
			k++;
		}
		total_add(&t[slot[c]], ips[i], r->ncite);
	}
	free(slot);
	qsort(t, k, sizeof *t, total_by_activity);
	*n = k;
	return t;
}

static void
totals_free(struct total *t, size_t n)
{
	size_t i;

	for (i = 0; t && i < n; i++) {
		distinct_clear(&t[i].c.dst);
		free(t[i].cites);
	}
	free(t);
}

/* Writes one member of the top-level object, then frees it. */
static int
emit(json_t *v)
{
	/* untrusted names and ids: jansson escapes control characters, ASCII-only output
	 * keeps any other byte out of a terminal too, and text_json_dumpf escapes DEL */
	int rc = text_json_dumpf(v, stdout, JSON_COMPACT);

	json_decref(v);
	return rc;
}

/* The report as one JSON object, written member by member and array element by element:
 * a million sources must not become a million-node tree in memory first. */
static int
print_json(const struct report *r, struct traffic_ip **ips, size_t nips)
{
	struct outbound_counts n;
	struct flow_stats fs;
	json_t *o, *list;
	struct total *ct;
	char a[ADDR_STRLEN];
	size_t i, j, nct = 0, ncu;
	long *head, *next;
	int rc = 0;

	outbound_get_counts(r->outbound, &n);
	outbound_get_flow_stats(r->outbound, &fs);
	o = json_object();
	json_object_set_new(o, "total", json_integer((json_int_t)n.total));
	json_object_set_new(o, "smtp", json_integer((json_int_t)n.smtp));
	json_object_set_new(o, "malformed", json_integer((json_int_t)n.malformed));
	json_object_set_new(o, "truncated", json_integer((json_int_t)n.truncated));
	json_object_set_new(o, "unsolicited", json_integer((json_int_t)n.unsolicited));
	fputs("{\"packets\": ", stdout);
	rc |= emit(o);
	fputs(",\n\"ips\": [", stdout);
	for (i = 0; i < nips; i++) {
		const struct traffic_ip *ip = ips[i];
		o = json_object();
		json_object_set_new(o, "ip", json_string(addr_format(&ip->addr, a, sizeof a)));
		if (ip->customer >= 0)
			json_object_set_new(o, "customer", json_string(customers_get(r->customers,
			    (size_t)ip->customer)->id));
		else
			json_object_set_new(o, "customer", json_null());
		json_counters(o, ip, ip->cites, r);
		fputs(i ? ",\n  " : "\n  ", stdout);
		rc |= emit(o);
	}
	fputs("],\n\"customers\": [", stdout);
	ct = customer_totals(r, ips, nips, &nct);
	/* each customer's IPs as a chain through next[], in activity order: one pass */
	ncu = r->customers ? customers_count(r->customers) : 0;
	head = malloc((ncu ? ncu : 1) * sizeof *head);
	next = malloc((nips ? nips : 1) * sizeof *next);
	if (head == NULL || next == NULL) {
		nct = 0;
		rc = -1;
	}
	for (i = 0; i < ncu && head; i++)
		head[i] = -1;
	for (j = nips; next && head && j-- > 0;)
		if (ips[j]->customer >= 0) {
			next[j] = head[ips[j]->customer];
			head[ips[j]->customer] = (long)j;
		}
	for (i = 0; ct && i < nct; i++) {
		const struct customer *cu = customers_get(r->customers, (size_t)ct[i].customer);
		long k;
		o = json_object();
		json_object_set_new(o, "id", json_string(cu->id));
		/* json_string() refuses bytes that are not UTF-8, and the member would vanish */
		json_object_set_new(o, "name", text_json(cu->name));
		list = json_array();
		for (k = head[ct[i].customer]; k >= 0; k = next[k])
			json_array_append_new(list, json_string(addr_format(&ips[k]->addr, a,
			    sizeof a)));
		json_object_set_new(o, "ips", list);
		json_counters(o, &ct[i].c, ct[i].cites, r);
		fputs(i ? ",\n  " : "\n  ", stdout);
		rc |= emit(o);
	}
	totals_free(ct, nct);
	free(head);
	free(next);
	/* what was skipped or bounded, so a reader can tell a quiet capture from a lossy one */
	o = json_object();
	json_object_set_new(o, "fragments", json_integer((json_int_t)n.fragments));
	json_object_set_new(o, "unsupported", json_integer((json_int_t)n.unsupported));
	json_object_set_new(o, "connections", json_integer((json_int_t)fs.created));
	json_object_set_new(o, "connections_untracked", json_integer((json_int_t)fs.dropped));
	json_object_set_new(o, "sources_untracked",
	    json_integer((json_int_t)traffic_dropped(r->traffic)));
	json_object_set_new(o, "gaps", json_integer((json_int_t)fs.gaps));
	json_object_set_new(o, "long_lines", json_integer((json_int_t)fs.long_lines));
	fputs("],\n\"capture\": ", stdout);
	rc |= emit(o);
	fputs("}\n", stdout);
	return rc ? -1 : 0;
}

static void
print_row(const char *label, const struct traffic_ip *c, const uint32_t *cites,
    const struct report *r)
{
	char cite[256] = "", esc[96];
	size_t w, off = 0;

	for (w = 0; cites && w < r->ncite; w++)
		if (cites[w] && off < sizeof cite)
			off += (size_t)snprintf(cite + off, sizeof cite - off, "%s%s:%u",
			    off ? " " : "", escaped(cite_list_name(w), esc, sizeof esc),
			    cites[w]);
	printf("  %-39s %6u %6u %5llu%s %6u %6u %5u %4u %5u %5u  %s\n", label, c->syn, c->sessions,
	    (unsigned long long)distinct_count(&c->dst), distinct_is_estimate(&c->dst) ? "~" : " ",
	    c->mail_from, c->rcpt_to, c->data, c->starttls, c->replies_4xx, c->replies_5xx, cite);
}

static void
print_header(const char *what)
{
	printf("  %-39s %6s %6s %6s %6s %6s %5s %4s %5s %5s  %s\n", what, "SYN", "sess", "MX",
	    "MAIL", "RCPT", "DATA", "TLS", "4xx", "5xx", "rejections citing");
}

#define TOP_N 20

static int
print_text(const struct report *r, struct traffic_ip **ips, size_t nips)
{
	struct outbound_counts n;
	struct flow_stats fs;
	struct total *ct, *rt;
	char a[ADDR_STRLEN], label[160], name[96], id[48];
	size_t i, nct = 0, nrt = 0;
	struct ranged *byrange;

	outbound_get_counts(r->outbound, &n);
	outbound_get_flow_stats(r->outbound, &fs);
	printf("packets: %llu read, %llu SMTP (port 25, provider space), %llu malformed, "
	    "%llu truncated, %llu fragments skipped, %llu unsolicited server segments "
	    "ignored\n", (unsigned long long)n.total, (unsigned long long)n.smtp,
	    (unsigned long long)n.malformed, (unsigned long long)n.truncated,
	    (unsigned long long)n.fragments, (unsigned long long)n.unsolicited);
	printf("connections: %llu followed, %llu gaps, %llu over-long SMTP lines\n",
	    (unsigned long long)fs.created, (unsigned long long)fs.gaps,
	    (unsigned long long)fs.long_lines);
	if (r->space == NULL || prefixes_count(r->space) == 0)
		printf("provider space: not configured (-c FILE): every sender counts as ours\n");

	printf("\ntop senders (%zu sending IPs):\n", nips);
	print_header("IP (customer)");
	for (i = 0; i < nips && i < TOP_N; i++) {
		const struct traffic_ip *ip = ips[i];
		if (ip->customer >= 0)
			snprintf(label, sizeof label, "%s (%s)", addr_format(&ip->addr, a, sizeof a),
			    escaped(customers_get(r->customers, (size_t)ip->customer)->id, id,
			    sizeof id));
		else
			snprintf(label, sizeof label, "%s (unassigned)",
			    addr_format(&ip->addr, a, sizeof a));
		print_row(label, ip, ip->cites, r);
	}
	if (nips > TOP_N)
		printf("  ... %zu more (--json lists all)\n", nips - TOP_N);

	ct = customer_totals(r, ips, nips, &nct);
	if (ct && nct) {
		printf("\nper customer:\n");
		print_header("customer");
		for (i = 0; i < nct && i < TOP_N; i++) {
			const struct customer *cu = customers_get(r->customers,
			    (size_t)ct[i].customer);
			snprintf(label, sizeof label, "%s %s (%zu IPs)", escaped(cu->id, id, sizeof id),
			    escaped(cu->name, name, sizeof name), ct[i].nips);
			print_row(label, &ct[i].c, ct[i].cites, r);
		}
	}
	totals_free(ct, nct);

	/* per range: the allocation block, else the /24 (/48) */
	/* sorted by range, the IPs of one range sit together: one pass sums them */
	rt = calloc(nips ? nips : 1, sizeof *rt);
	byrange = malloc((nips ? nips : 1) * sizeof *byrange);
	for (i = 0; rt && byrange && i < nips; i++) {
		prefixes_range(r->space, &ips[i]->addr, &byrange[i].range);
		byrange[i].ip = ips[i];
	}
	if (rt && byrange)
		qsort(byrange, nips, sizeof *byrange, by_range);
	for (i = 0; rt && byrange && i < nips; i++) {
		if (nrt == 0 || cidr_cmp(&rt[nrt - 1].range, &byrange[i].range) != 0)
			rt[nrt++].range = byrange[i].range;
		total_add(&rt[nrt - 1], byrange[i].ip, r->ncite);
	}
	free(byrange);
	if (rt && nrt) {
		qsort(rt, nrt, sizeof *rt, total_by_activity);
		printf("\nper range:\n");
		print_header("range");
		for (i = 0; i < nrt && i < TOP_N; i++) {
			char c[CIDR_STRLEN];
			snprintf(label, sizeof label, "%s (%zu IPs)",
			    cidr_format(&rt[i].range, c, sizeof c), rt[i].nips);
			print_row(label, &rt[i].c, rt[i].cites, r);
		}
	}
	totals_free(rt, nrt);
	return 0;
}

static volatile sig_atomic_t stop_live;

static void
on_stop(int sig)
{
	(void)sig;
	stop_live = 1;
}

/* Captures on an interface for the given seconds (0: until SIGINT/SIGTERM). */
static int
read_live(struct report *r, const char *ifname, long seconds)
{
	struct capture *cap;
	struct capture_stats cs;
	struct pollfd pfd;
	struct sigaction sa;
	struct timespec start, now;
	char err[512];
	int rc = -1;

	cap = capture_open_live(ifname, r->cfg->snaplen, r->cfg->buffer_size, r->space, err,
	    sizeof err);
	if (cap == NULL) {
		fprintf(stderr, "rangewatch: %s\n", err);
		return -1;
	}
	if (!decode_linktype_ok(capture_linktype(cap))) {
		fprintf(stderr, "rangewatch: %s: link type %d is not supported\n", ifname,
		    capture_linktype(cap));
		goto out;
	}
	fprintf(stderr, "rangewatch: capturing on %s%s\n", ifname,
	    seconds ? "" : " until interrupted (Ctrl-C)");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pfd.fd = capture_fd(cap);
	pfd.events = POLLIN;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop_live) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (seconds > 0 && now.tv_sec - start.tv_sec >= seconds)
			break;
		if (poll(&pfd, 1, 100) == -1 && errno != EINTR) {
			fprintf(stderr, "rangewatch: poll: %s\n", strerror(errno));
			goto out;
		}
		if (capture_dispatch(cap, -1, r->outbound, err, sizeof err) == -1) {
			fprintf(stderr, "rangewatch: %s: %s\n", ifname, err);
			goto out;
		}
	}
	/* what the kernel still holds belongs to the window too */
	if (capture_dispatch(cap, -1, r->outbound, err, sizeof err) == -1)
		goto out;
	capture_get_stats(cap, &cs);
	fprintf(stderr, "rangewatch: %s: %lu frames received, %lu dropped by the kernel, "
	    "%lu by the interface\n", ifname, cs.recv, cs.drop, cs.ifdrop);
	rc = 0;
out:
	capture_close(cap);
	return rc;
}

static void
report_free(struct report *r)
{
	outbound_free(r->outbound);
	traffic_free(r->traffic);
	cite_clear();
	dnsbl_lists_free(r->lists);
	customers_free(r->customers);
	prefixes_free(r->space);
	config_free(r->cfg);
}

int
analyze_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "bpf", no_argument, NULL, 'b' },
		{ "interface", required_argument, NULL, 'i' },
		{ "seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct report r;
	const char *cfgpath = NULL, *ifname = NULL;
	char err[512], *end;
	long seconds = 0;
	int ch, json = 0, bpf = 0, rc = 1, read_error = 0;
	struct traffic_ip **ips = NULL;
	size_t i, nips;
	struct capture *cap;

	memset(&r, 0, sizeof r);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:i:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'i': ifname = optarg; break;
		case 't':
			errno = 0;
			seconds = strtol(optarg, &end, 10);
			if (errno || *end || seconds < 0) {
				fprintf(stderr, "rangewatch: -t wants whole seconds, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j': json = 1; break;
		case 'b': bpf = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if ((optind >= argc) == (ifname == NULL)) {
		usage();
		return 2;
	}
	if (cfgpath) {
		if (config_load(cfgpath, &r.cfg, err, sizeof err) == -1) {
			fprintf(stderr, "rangewatch: %s\n", err);
			return 1;
		}
		if (r.cfg->prefixes[0] &&
		    prefixes_load(r.cfg->prefixes, &r.space, err, sizeof err) == -1) {
			fprintf(stderr, "rangewatch: %s\n", err);
			goto out;
		}
		if (r.cfg->customers[0] &&
		    customers_load(r.cfg->customers, &r.customers, err, sizeof err) == -1) {
			fprintf(stderr, "rangewatch: %s\n", err);
			goto out;
		}
	} else
		r.cfg = config_default();
	if (r.space == NULL && (r.space = prefixes_new_empty()) == NULL) {
		fprintf(stderr, "rangewatch: out of memory\n");
		goto out;
	}
	/* rejections_citing is per list of the config's lists file (none without one) */
	if (r.cfg->lists[0] && dnsbl_lists_load(r.cfg->lists, &r.lists, err, sizeof err) == -1) {
		fprintf(stderr, "rangewatch: %s\n", err);
		goto out;
	}
	if (cite_install(r.lists, (const char *const *)r.cfg->cite, r.cfg->ncite, err,
	    sizeof err) == -1) {
		fprintf(stderr, "rangewatch: %s\n", err);
		goto out;
	}
	r.ncite = cite_nlists();
	if ((r.traffic = traffic_new((size_t)r.cfg->max_ips, r.ncite)) == NULL ||
	    (r.outbound = outbound_new(r.traffic, r.space, r.customers, (size_t)r.cfg->max_flows,
	    (unsigned)r.cfg->flow_timeout)) == NULL) {
		fprintf(stderr, "rangewatch: out of memory\n");
		goto out;
	}
	if (ifname && read_live(&r, ifname, seconds) == -1)
		goto out;
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		if ((cap = capture_open_file(argv[i], bpf, r.space, err, sizeof err)) == NULL) {
			fprintf(stderr, "rangewatch: %s: %s\n", argv[i], err);
			goto out;
		}
		if (!decode_linktype_ok(capture_linktype(cap))) {
			fprintf(stderr, "rangewatch: %s: link type %d is not supported\n", argv[i],
			    capture_linktype(cap));
			capture_close(cap);
			goto out;
		}
		if (capture_dispatch(cap, -1, r.outbound, err, sizeof err) == -1) {
			/* what came before the damage is still reported, but the run failed */
			fprintf(stderr, "rangewatch: %s: %s\n", argv[i], err);
			read_error = 1;
		}
		capture_close(cap);
	}
	nips = traffic_count(r.traffic);
	if ((ips = malloc((nips ? nips : 1) * sizeof *ips)) == NULL)
		goto out;
	for (i = 0; i < nips; i++)
		ips[i] = traffic_at(r.traffic, i);
	qsort(ips, nips, sizeof *ips, by_activity);
	rc = json ? print_json(&r, ips, nips) : print_text(&r, ips, nips);
	if (fflush(stdout) == EOF || read_error)
		rc = 1;
out:
	free(ips);
	report_free(&r);
	return rc == 0 ? 0 : 1;
}
