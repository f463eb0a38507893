/*
 * fuzz_arf.c — libFuzzer target for the complaint report reader (ui/arf.c, with GMime): any
 * bytes as a mail or an X-ARF JSON document. What comes out must keep arf.h's promises: a
 * result only with a source address and a known kind, its text fields escaped (no control
 * character), an error a printable line.
 * fuzz-pkgs: gmime-3.0
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ui/arf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arf_report r;
	char err[300];

	err[0] = '\0';
	if (arf_parse((const char *)data, size, &r, err, sizeof err) == 0) {
		if (r.kind != ARF_ARF && r.kind != ARF_XARF && r.kind != ARF_JMRP)
			abort();
		if (!text_is_clean(r.feedback_type, strlen(r.feedback_type)) ||
		    !text_is_clean(r.reported_domain, strlen(r.reported_domain)) ||
		    !text_is_clean(r.mail_from, strlen(r.mail_from)))
			abort();
	} else if (err[0] == '\0' || !text_is_clean(err, strlen(err)))
		abort();
	return 0;
}
