#!/usr/bin/env python3
"""Verify a mailtrace evidence bundle offline, independently of mailtrace.

Python standard library only, plus `openssl ts -verify` for the RFC 3161
time stamp. Follows docs/evidence-format.md. Prints one line per check
and exits 1 if any check fails.

    scripts/verify-bundle.py BUNDLE.zip [--key log.pub] [--tsa-roots roots.pem]
"""
import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal

FORMAT = "mailtrace-evidence-bundle/1"
RECORD_FORMAT = "mailtrace-evidence/1"
HASH = "SHA-256"
CLOSING = "urn:mailtrace:event:ChainClosing"
MAX_FILES, MAX_FILE, MAX_TOTAL = 4096, 4 << 20, 16 << 20


class BundleError(Exception):
    pass


def sha256(b):
    return hashlib.sha256(b).digest()


# --- RFC 8785 (JCS) ---------------------------------------------------------

def jcs_number(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    if x == 0:
        return "0"
    r = repr(x)  # the shortest round-trip digits, as ECMAScript's
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mant, _, exp = r.partition("e")
    digits = mant.replace(".", "")
    point = mant.index(".") if "." in mant else len(mant)
    e = int(exp or 0) + point  # value = 0.DIGITS x 10^e
    lead = len(digits) - len(digits.lstrip("0"))
    digits, e = digits.strip("0") or "0", e - lead
    k, n = len(digits), e
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        ee = n - 1
        es = ("+" if ee > 0 else "-") + str(abs(ee))
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + es
    return sign + s


def jcs_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif c < 0x20:
            out.append({8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}.get(c, "\\u%04x" % c))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def utf16_key(s):
    return s.encode("utf-16-be")


def jcs(v):
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return jcs_number(v)
    if isinstance(v, str):
        return jcs_string(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(jcs_string(k) + ":" + jcs(v[k]) for k in sorted(v, key=utf16_key)) + "}"
    raise ValueError("not JSON")


# --- RFC 6962 / RFC 9162 Merkle proofs ---------------------------------------

def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, path):
    """RFC 9162 section 2.1.4.2."""
    if size1 == size2:
        return not path and root1 == root2
    if size1 == 0 or size1 > size2 or not path:
        return False
    if size1 & (size1 - 1) == 0:  # a power of two: the old root starts the path
        path = [root1] + path
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# --- Ed25519 (RFC 8032 section 5.1.7), for signed notes ----------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
I = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A, B = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    C, Dd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _eq(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _decompress(s):
    y = int.from_bytes(s, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * I % P
    if (x * x - x2) % P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


GY = 4 * pow(5, P - 2, P) % P
G = _decompress(GY.to_bytes(32, "little"))


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    A, R = _decompress(pub), _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if A is None or R is None or s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % L
    return _eq(_mul(s, G), _add(R, _mul(h, A)))


# --- signed notes (golang.org/x/mod/sumdb/note), C2SP tlog-checkpoint ---------

def parse_keys(text):
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, khash, k = line.split("+", 2)
        raw = base64.b64decode(k)
        if len(raw) != 33 or raw[0] != 1:
            raise BundleError("key %s is not an Ed25519 note key" % name)
        want = sha256(name.encode() + b"\n" + raw)[:4]
        if want.hex() != khash:
            raise BundleError("key %s: hash %s, computed %s" % (name, khash, want.hex()))
        keys.append((name, want, raw[1:]))
    return keys


def open_note(note, origin, keys):
    """The checkpoint's (size, root) if a known key signed it, else an error text."""
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    i = text.find("\n\n")
    if i < 0:
        return None, "not a signed note"
    body, sigs = text[: i + 1], text[i + 2 :]
    if not sigs.endswith("\n"):
        return None, "signature lines do not end in a newline"
    verified = False
    for line in sigs[:-1].split("\n"):
        m = re.fullmatch(r"\u2014 (\S+) (\S+)", line)
        if not m:
            return None, "malformed signature line %r" % line
        raw = base64.b64decode(m.group(2))
        for name, khash, pub in keys:
            if name == m.group(1) and raw[:4] == khash:
                if not ed25519_verify(pub, body.encode(), raw[4:]):
                    return None, "the signature of %s does not verify" % name
                verified = True
    if not verified:
        return None, "signed by no known key"
    lines = body.split("\n")
    if len(lines) < 4 or lines[0] != origin or not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        return None, "not a checkpoint of %s" % origin
    root = base64.b64decode(lines[2])
    if len(root) != 32:
        return None, "root is not a SHA-256"
    return (int(lines[1]), root), None


# --- the bundle ----------------------------------------------------------------

def read_bundle(path):
    if os.path.getsize(path) > MAX_TOTAL:
        raise BundleError("larger than %d bytes" % MAX_TOTAL)
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise BundleError("not a zip file: %s" % e)
    infos = z.infolist()
    if len(infos) > MAX_FILES:
        raise BundleError("more than %d files" % MAX_FILES)
    if any(i.file_size > MAX_FILE for i in infos) or sum(i.file_size for i in infos) > MAX_TOTAL:
        raise BundleError("larger than %d bytes uncompressed" % MAX_TOTAL)
    files, total = {}, 0
    for info in infos:
        name = info.filename
        if info.is_dir():
            continue
        if not name or name.startswith("/") or "\\" in name or os.path.normpath(name) != name or name.startswith(".."):
            raise BundleError("file name %r is not a plain relative path" % name)
        if name in files:
            raise BundleError("%s is in the zip twice" % name)
        with z.open(info) as f:
            data = f.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            raise BundleError("%s is larger than %d bytes" % (name, MAX_FILE))
        total += len(data)
        if total > MAX_TOTAL:
            raise BundleError("more than %d bytes uncompressed" % MAX_TOTAL)
        files[name] = data
    if "manifest.json" not in files:
        raise BundleError("no manifest.json")
    return files


def openssl_token_time(token_file):
    out = subprocess.run(["openssl", "ts", "-reply", "-token_in", "-in", token_file, "-token_out", "-text"],
                         capture_output=True, text=True)
    return out.stdout


def token_certs(token_file):
    out = subprocess.run(["openssl", "pkcs7", "-inform", "DER", "-in", token_file, "-print_certs"], capture_output=True, text=True)
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out.stdout, re.S)


def check_token(token, note, certs_pem, roots, tmp):
    tok, data = os.path.join(tmp, "token.der"), os.path.join(tmp, "checkpoint")
    with open(tok, "wb") as f:
        f.write(token)
    with open(data, "wb") as f:
        f.write(note)
    text = openssl_token_time(tok)
    m = re.search(r"Message data:\n((?:\s+[0-9a-f]{4} - .*\n)+)", text)
    if not m:
        return "the token cannot be read"
    imprint = bytes.fromhex("".join(re.findall(r"- ((?:[0-9a-f]{2}[ -]){1,16})", m.group(1))).replace("-", " ").replace(" ", ""))
    if imprint != sha256(note):
        return "the token stamps %s, not this checkpoint (SHA-256 %s)" % (imprint.hex(), sha256(note).hex())
    if certs_pem is not None:
        have = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", certs_pem.decode(errors="replace"), re.S)
        if [c.replace("\n", "") for c in have] != [c.replace("\n", "") for c in token_certs(tok)]:
            return "tsa-certs.pem are not the certificates the token carries"
    if roots:
        cmd = ["openssl", "ts", "-verify", "-token_in", "-in", tok, "-data", data, "-CAfile", roots]
        t = re.search(r"Time stamp: (.*)\n", text)
        if t:
            import datetime
            when = datetime.datetime.strptime(t.group(1).replace(" GMT", "").strip(), "%b %d %H:%M:%S %Y")
            cmd += ["-attime", str(int(when.replace(tzinfo=datetime.timezone.utc).timestamp()))]
        if certs_pem is not None:
            cm = os.path.join(tmp, "certs.pem")
            with open(cm, "wb") as f:
                f.write(certs_pem)
            cmd += ["-untrusted", cm]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if "Verification: OK" not in out.stdout:
            return "openssl ts -verify: " + (out.stdout + out.stderr).strip().replace("\n", " ")
    return None


def verify(path, key_file, roots, manifest_sha256=None):
    """Returns [(check, ok, detail)]."""
    checks = []
    files = read_bundle(path)
    man_bytes = files["manifest.json"]
    man = json.loads(man_bytes)
    fails = []
    if man.get("format") != FORMAT or man.get("hashAlgorithm") != HASH:
        fails.append("format %r" % man.get("format"))
    listed = {}
    for f in man.get("files", []):
        if f["name"] in listed:
            fails.append(f["name"] + " is listed twice")
        listed[f["name"]] = f
        data = files.get(f["name"])
        if data is None:
            fails.append(f["name"] + " is listed but not in the bundle")
        elif hashlib.sha256(data).hexdigest() != f["sha256"] or len(data) != f["size"]:
            fails.append(f["name"] + " has SHA-256 %s, the manifest says %s: it was changed" % (hashlib.sha256(data).hexdigest(), f["sha256"]))
    for name in files:
        if name not in ("manifest.json", "certificate.pdf") and name not in listed:
            fails.append(name + " is in the bundle but not in the manifest")
    if manifest_sha256 and manifest_sha256.lower() != hashlib.sha256(man_bytes).hexdigest():
        fails.append("manifest.json is not the one whose SHA-256 was given")
    checks.append(("manifest", not fails, "; ".join(fails) or "%d files, each with its SHA-256" % len(listed)))

    try:
        keys = parse_keys(open(key_file).read() if key_file else files.get("keys/log.pub", b"").decode())
    except (BundleError, ValueError) as e:
        keys = []
        checks.append(("keys", False, str(e)))

    rec_fail, incl_fail, cp_fail, cons_fail, ts_fail = [], [], [], [], []
    chains, nrec, anchored = {}, 0, 0
    tmp = tempfile.mkdtemp()
    for lg in man.get("logs", []):
        d, origin = lg["dir"] + "/", lg["origin"]
        try:
            pr = json.loads(files[d + "proofs.json"])
        except (KeyError, ValueError) as e:
            incl_fail.append("%sproofs.json: %s" % (d, e))
            continue
        croot = base64.b64decode(pr["checkpointRoot"])
        proofs = {p["index"]: p["path"] for p in pr["inclusion"]}
        seen = set()
        for name in sorted(n for n in files if n.startswith(d + "records/")):
            m = re.fullmatch(re.escape(d) + r"records/(0|[1-9][0-9]{0,17})\.json", name)
            if not m:
                rec_fail.append(name + " is not named records/INDEX.json")
                continue
            index, data = int(m.group(1)), files[name]
            try:
                rec = json.loads(data.decode("utf-8"))
            except ValueError as e:
                rec_fail.append("%s is not JSON: %s" % (name, e))
                continue
            nrec += 1
            seen.add(index)
            if jcs(rec).encode("utf-8") != data:
                rec_fail.append(name + " is not in canonical form (RFC 8785)")
            elif rec.get("version") != RECORD_FORMAT or rec.get("hashAlgorithm") != HASH:
                rec_fail.append(name + ": format %r" % rec.get("version"))
            elif rec["log"]["index"] != index or rec["log"]["origin"] != origin:
                rec_fail.append("%s holds record %d of log %r: records were moved or swapped" % (name, rec["log"]["index"], rec["log"]["origin"]))
            if index not in proofs:
                incl_fail.append(name + " has no inclusion proof")
            elif not verify_inclusion(index, pr["checkpointSize"], leaf_hash(data), [base64.b64decode(h) for h in proofs[index]], croot):
                incl_fail.append("%s is not in the tree of checkpoint %d" % (name, pr["checkpointSize"]))
            if "chain" in rec:
                chains.setdefault((origin, rec["chain"]["message"]), []).append((rec, index, hashlib.sha256(data).hexdigest()))
        for index in proofs:
            if index not in seen:
                rec_fail.append("record %d has a proof but no file: a record was removed" % index)
        cp = files.get(d + "checkpoint", b"")
        tree, err = open_note(cp, origin, keys)
        if err:
            cp_fail.append(d + "checkpoint: " + err)
        elif tree != (pr["checkpointSize"], croot):
            cp_fail.append(d + "checkpoint signs another tree than the proofs use")
        latest, err = open_note(files.get(d + "latest-checkpoint", b""), origin, keys)
        lroot = base64.b64decode(pr["latestRoot"])
        if err:
            cp_fail.append(d + "latest-checkpoint: " + err)
        elif latest != (pr["latestSize"], lroot):
            cp_fail.append(d + "latest-checkpoint signs another tree than the proofs use")
        elif not verify_consistency(pr["checkpointSize"], pr["latestSize"], croot, lroot, [base64.b64decode(h) for h in pr["consistency"]]):
            cons_fail.append("the checkpoint of %d is not a prefix of the latest of %d" % (pr["checkpointSize"], pr["latestSize"]))
        token = files.get(d + "checkpoint.tsr")
        if token is None:
            if pr.get("anchored") or d + "tsa-certs.pem" in files:
                ts_fail.append(d + "checkpoint.tsr is missing")
        else:
            anchored += 1
            err = check_token(token, cp, files.get(d + "tsa-certs.pem"), roots, tmp)
            if err:
                ts_fail.append(d + "checkpoint.tsr: " + err)
    checks.append(("records", not rec_fail, "; ".join(rec_fail) or "%d records in canonical form" % nrec))
    chain_fail, closed = [], 0
    for (origin, msg), rs in chains.items():
        rs.sort(key=lambda r: r[0]["chain"]["position"])
        prev = ""
        for i, (rec, index, h) in enumerate(rs):
            c, cl = rec["chain"], rec.get("closing")
            if c["position"] != i + 1:
                chain_fail.append("message %s: record %d is number %d: a record is missing" % (msg, index, c["position"]))
                break
            if c.get("previousRecordHash", "") != prev:
                chain_fail.append("message %s: record %d does not link to the record before it" % (msg, index))
                break
            if cl is not None and (cl["records"] != i or cl["lastRecordHash"] != prev):
                chain_fail.append("message %s: closing record %d does not count the chain" % (msg, index))
                break
            if (cl is not None) != (rec["ERDSEventId"] == CLOSING):
                chain_fail.append("message %s: record %d closing mismatch" % (msg, index))
                break
            if i > 0 and rs[i - 1][1] >= index:
                chain_fail.append("message %s: records swapped" % msg)
                break
            prev = h
        else:
            closed += 1 if rs and rs[-1][0].get("closing") is not None else 0
    held = {m for (_, m) in chains}
    if held != set(man.get("messages", [])):
        chain_fail.append("the manifest's messages are not the chains the bundle holds")
    checks.append(("chains", not chain_fail, "; ".join(chain_fail) or "%d chains, %d closed" % (len(chains), closed)))
    checks.append(("inclusion", not incl_fail, "; ".join(incl_fail) or "every record is in its checkpoint's tree"))
    checks.append(("checkpoint", not cp_fail, "; ".join(cp_fail) or "signed by a trusted key"))
    checks.append(("consistency", not cons_fail, "; ".join(cons_fail) or "the checkpoint is a prefix of the latest"))
    detail = "%d RFC 3161 tokens over their checkpoints" % anchored + ("" if roots else "; chain not checked (give --tsa-roots)")
    checks.append(("time stamp", not ts_fail, "; ".join(ts_fail) or (detail if anchored else "no RFC 3161 time stamp")))
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--key", help="the log's public key file (default: the bundle's keys/log.pub)")
    ap.add_argument("--tsa-roots", help="PEM file of trusted TSA roots")
    ap.add_argument("--manifest-sha256")
    a = ap.parse_args()
    try:
        checks = verify(a.bundle, a.key, a.tsa_roots, a.manifest_sha256)
    except Exception as e:  # a hostile bundle may break any assumption: it fails, never passes
        print("FAIL  bundle: %s: %s" % (type(e).__name__, e))
        return 1
    for name, ok, detail in checks:
        print("%s  %s: %s" % ("ok  " if ok else "FAIL", name, detail))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
