#!/usr/bin/python3
"""Writes sample complaint reports and SNDS files from the published formats (RFC 5965 ARF,
X-ARF's mail and JSON forms, a Hotmail JMRP-like mail with the original attached as
message/rfc822, SNDS data and IP-status CSV), and malformed variants, into OUTDIR.
Usage: gen_samples.py OUTDIR SPAMMER_IP INNOCENT_IP END_EPOCH"""
import os, sys, time
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email import message_from_string
from email.utils import formatdate

out, spam_ip, other_ip, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(out, exist_ok=True)
def w(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

orig = ("Received: from vps7.example.net ([%s]) by mx.receiver.example with ESMTP id 1;"
        " %s\r\nFrom: offers@spam.example\r\nTo: victim@receiver.example\r\n"
        "Subject: cheap \x1b[31mpills\r\n\r\nbuy now\r\n") % (spam_ip, formatdate(end - 3600))

def arf(ip, at, ftype="abuse"):
    m = MIMEMultipart("report", report_type="feedback-report")
    m["From"] = "fbl@receiver.example"; m["To"] = "abuse@provider.example"
    m["Subject"] = "FW: complaint"; m["Date"] = formatdate(at)
    m.attach(MIMEText("This is an email abuse report for an email message received from IP %s\n" % ip))
    fb = MIMEBase("message", "feedback-report")
    fb.set_payload("Feedback-Type: %s\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n"
                   "Original-Mail-From: <offers@spam.example>\r\nArrival-Date: %s\r\n"
                   "Source-IP: %s\r\nReported-Domain: spam.example\r\n" % (ftype, formatdate(at), ip))
    m.attach(fb)
    m.attach(MIMEMessage(message_from_string(orig)))
    return m.as_bytes()

for i in range(3):
    w("arf%d.eml" % i, arf(spam_ip, end - 3600 * (i + 1)))
w("arf_other.eml", arf(other_ip, end - 600, "fraud"))

# X-ARF mail form: X-ARF: yes, three parts, the second a YAML report
x = MIMEMultipart("mixed"); x["X-ARF"] = "yes"; x["From"] = "reports@abuse-desk.example"
x["Subject"] = "abuse report about %s" % spam_ip
x.attach(MIMEText("Spam was received from %s.\n" % spam_ip))
x.attach(MIMEText("Reported-From: reports@abuse-desk.example\nCategory: abuse\nReport-Type: spam\n"
                  "Service: smtp\nVersion: 0.2\nUser-Agent: gen\nDate: %s\nSource-Type: ipv4\n"
                  "Source: %s\nPort: 25\n" % (formatdate(end - 1800), spam_ip)))
x.attach(MIMEText(orig))
w("xarf.eml", x.as_bytes())
# X-ARF JSON form (v4-like)
w("xarf.json", '{"Version":"4","ReporterInfo":{"ReporterOrg":"Desk"},"Report":{"ReportClass":"Content",'
  '"ReportType":"spam","Date":"%s","SourceIp":"%s"}}' % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end - 900)), spam_ip))
# JMRP: a message with the complained-about mail attached; Microsoft's hops on top of the
# sender's own (forged) Received header
jorig = ("Received: from BN8PR.namprd.prod.outlook.com (2603:10b6::1) by CH2PR.outlook.com with HTTPS; %s\r\n"
         "Received: from mail.example.net ([%s]) by BN8NAM.mail.protection.outlook.com (10.1.2.3)"
         " with Microsoft SMTP Server; %s\r\n"
         "Received: from forged ([10.9.9.9]) by mail.example.net; %s\r\n"
         "From: offers@spam.example\r\nTo: someone@hotmail.com\r\nSubject: offer\r\n\r\nbody\r\n") % (
    formatdate(end - 2000), spam_ip, formatdate(end - 2400), formatdate(end - 2500))
j = MIMEMultipart("mixed"); j["From"] = "staff@hotmail.com"; j["Subject"] = "complaint about message from %s" % spam_ip
j.attach(MIMEText("This is a complaint.\n")); j.attach(MIMEMessage(message_from_string(jorig)))
w("jmrp.eml", j.as_bytes())
# malformed
w("bad_noip.eml", arf("not-an-ip", end))
w("bad_plain.eml", "From: a@b\r\nSubject: hi\r\n\r\nnothing here\r\n")
w("bad_json.json", '{"Report": {"SourceIp": 12}}')
w("bad_jmrp.eml", MIMEMultipart("mixed").as_bytes())

# SNDS: a week of rows for the spammer with trap hits rising, one innocent IP GREEN
def pt(t):  # UTC epoch -> SNDS's Pacific text (PST, December)
    return time.strftime("%-m/%-d/%Y %-I:%M %p", time.gmtime(t - 8 * 3600))
rows = []
day0 = end - (end + 8 * 3600) % 86400 - 7 * 86400  # 24 h periods from 08:00 Pacific, a week back
for d in range(7):
    s, e = day0 + d * 86400, day0 + (d + 1) * 86400
    hits = [0, 0, 1, 2, 4, 9, 14][d]
    filt = ["GREEN", "GREEN", "YELLOW", "YELLOW", "RED", "RED", "RED"][d]
    tr = (pt(s + 3600), pt(e - 3600)) if hits else ("", "")
    rows.append("%s,%s,%s,%d,%d,%d,%s,< 0.1%%,%s,%s,%d,vps7.example.net,offers@spam.example,"
                % (spam_ip, pt(s), pt(e), 900 * (d + 1), 880 * (d + 1), 950 * (d + 1), filt, tr[0], tr[1], hits))
    rows.append("%s,%s,%s,120,120,130,GREEN,< 0.1%%,,,0,bakery.example.org,orders@bakery.example.org," % (other_ip, pt(s), pt(e)))
w("snds.csv", "\r\n".join(rows) + "\r\n")
w("snds_bad.csv", "\r\n".join(rows[:2] + ["%s,garbage,x" % spam_ip, "1.2.3.4,13/45/2026 1:00 AM,x,1,1,1,RED,< 0.1%,,,0,,,"]) + "\r\n")
w("snds_changed.csv", "\r\n".join(r + ",extra" for r in rows) + "\r\n")
w("status.csv", "%s,%s,Yes,Blocked due to user complaints or other evidence of spamming\r\n" % (spam_ip, spam_ip))
print(day0)
