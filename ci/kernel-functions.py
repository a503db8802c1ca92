#!/usr/bin/env python3
"""Index top-level C function definitions and function-like macros.

usage: kernel-functions.py TREE WORDS FILE...

Prints `file<TAB>name<TAB>start<TAB>end<TAB>sha256[:12]` for every
definition in TREE/FILE whose name is a line of WORDS (SYSCALL_DEFINEn(x)
is kept when x is). Lines are 1-based and inclusive. A definition starts at
the column-0 line that holds the name followed by `(` and is not a
declaration, and ends at the next column-0 `}` (macros: the last
backslash-continued line).
"""
import hashlib
import re
import sys

tree, words_file, files = sys.argv[1], sys.argv[2], sys.argv[3:]
words = set(open(words_file).read().split())
SYSCALL = re.compile(r'^(?:COMPAT_)?SYSCALL_DEFINE(\d)\((\w+)')
DEFINE = re.compile(r'^#define\s+(\w+)\(')
FUNC = re.compile(r'^(?:[A-Za-z_][\w \t\*]*?[ \t\*])?(\w+)\s*\(')
ARRAY = re.compile(r'^(?:static )?(?:const )?[\w \t\*]*?\b(\w+)\[\w*\]\s*=')

for f in files:
    try:
        lines = open(f"{tree}/{f}", encoding="utf-8", errors="replace").read().split("\n")
    except FileNotFoundError:
        continue
    seen = set()
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        name = None
        kind = None
        m = SYSCALL.match(line)
        if m:
            name, kind = f"SYSCALL_DEFINE{m.group(1)}({m.group(2)})", "fn"
            key = m.group(2)
        else:
            m = DEFINE.match(line)
            a = ARRAY.match(line)
            if m:
                name, kind, key = m.group(1), "macro", m.group(1)
            elif a:
                name, kind, key = a.group(1), "array", a.group(1)
            else:
                m = FUNC.match(line)
                if m and not line.startswith(("typedef", "struct ", "static struct", "enum ", "union ")) \
                        or (m and "(" in line and line.startswith(("static struct", "struct "))
                            and re.match(r'^(static )?struct \w+ \*?\s*\w+\(', line)):
                    name, kind, key = m.group(1), "fn", m.group(1)
        if name is None or key not in words:
            i += 1
            continue
        if kind == "array":
            j = i
            while j < n and not lines[j].startswith("}"):
                j += 1
            if j >= n:
                i += 1
                continue
        elif kind == "macro":
            j = i
            while j < n - 1 and lines[j].rstrip().endswith("\\"):
                j += 1
        else:
            # A declaration ends with ';' before any '{'.
            j = i
            decl = False
            while j < n:
                t = lines[j]
                if "{" in t:
                    break
                if t.rstrip().endswith(";"):
                    decl = True
                    break
                j += 1
            if decl or j >= n:
                i += 1
                continue
            while j < n and not lines[j].startswith("}"):
                j += 1
            if j >= n:
                i += 1
                continue
        body = "\n".join(lines[i:j + 1]).encode()
        if name not in seen:
            seen.add(name)
            h = hashlib.sha256(body).hexdigest()[:12]
            print(f"{f}\t{name}\t{i + 1}\t{j + 1}\t{h}")
        i = j + 1
