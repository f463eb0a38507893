/*
 * fuzz_dnsbl_txt.c — libFuzzer target for the UCEPROTECT TXT parser. The input is the TXT,
 * exactly as long as libFuzzer made it (so a read past len is an ASan report). What comes
 * out must keep the header's promises: a level of 0, 2 or 3, nothing but defaults when
 * nothing was recognised, a holder that is a string inside its field and holds no control
 * character (it went through text_escape).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl_txt.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsbl_txt_info t;
	size_t hl;
	int r;

	r = dnsbl_txt_parse((const char *)data, size, &t);
	if (r != 0 && r != 1)
		abort();
	if (r == 0 && (t.level != 0 || t.has_net || t.abusers != -1 || t.asn != 0 ||
	    t.holder[0] != '\0'))
		abort();
	if (r == 1 && t.level != 2 && t.level != 3)
		abort();
	if (t.abusers < -1)
		abort();
	if (memchr(t.holder, '\0', sizeof t.holder) == NULL)
		abort();
	hl = strlen(t.holder);
	if (!text_is_clean(t.holder, hl))
		abort();
	if (t.has_net && t.net.plen > 128)
		abort();
	return 0;
}
