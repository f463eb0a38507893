/*
 * complaints.h — complaint reports (ARF, X-ARF, JMRP) given by an operator with `rangewatch
 * report`: the control socket's `complaint` command (acting: operators only), stored in the
 * store's complaint table and fed to the risk engine (risk_complaint) as weak evidence.
 *
 *   {"v":1,"cmd":"complaint","ip":"192.0.2.7","at":1765000000,"kind":"arf",
 *    "feedback_type":"abuse","reported_domain":"example.com","mail_from":"a@example.com"}
 *   -> {"id":12,"ip":"192.0.2.7","at":1765000000,"customer":"1001","name":"Acme VPS",
 *       "complaints":3}          (customer null: not a customer's address; still stored)
 *
 * The parsing of the mail happens in the client (ui/arf.c): the daemon takes only these
 * fields, checks each (an address, a time no later than a day ahead, a kind of three, text
 * of at most COMPLAINT_TEXT_MAX bytes, escaped again here) and never sees MIME.
 */
#ifndef RW_COMPLAINTS_H
#define RW_COMPLAINTS_H

#include <stddef.h>

#include "risk.h"

#define COMPLAINT_TEXT_MAX	256

struct control;
struct model;
struct complaints;

/* Registers the `complaint` command on ctl and feeds the stored complaints of the last
 * 30 days to m's engine. NULL with err. */
struct complaints *complaints_new(struct control *ctl, struct model *m, char *err,
    size_t errlen);
/* NULL-safe. */
void complaints_free(struct complaints *c);
/* Feeds the stored complaints of the last 30 days to r (model_env.refeed). NULL-safe. */
void complaints_refeed(struct complaints *c, struct risk *r);

#endif
