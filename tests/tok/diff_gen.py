"""Writes the expectations of the differential tests against the PyPI `tokenizers` package.

    diff_gen.py OUT-DIR UCD-DIR SHAKESPEARE.txt

OUT-DIR/regex.jsonl: line 1 {"patterns": [...]}, then [pattern index, text, [s, e, ...]]
    with the byte spans of every match tokenizers' Split pre-tokenizer (Oniguruma) finds;
OUT-DIR/norm.jsonl: [form, text, tokenizers' normalize_str(text)] for NFC, NFD, NFKC, NFKD
    and Lowercase, over every assigned code point of the UCD (in context: after a base
    letter, before combining marks) and every column of NormalizationTest.txt;
OUT-DIR/speed.json: tokenizers' Split throughput per pattern on the regex corpus.
The C side (tests/unit/test_regex.c, test_ucd.c) reads these and compares.
"""
import json
import random
import sys
import time

from tokenizers import Regex, normalizers, pre_tokenizers

out_dir, ucd_dir, shakespeare = sys.argv[1:4]

PATTERNS = [
    # GPT-2 / ByteLevel
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    # cl100k / Llama-3
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    # o200k
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    # Qwen2
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    # DeepSeek (its Split pre-tokenizers, one pattern each)
    r"[\r\n]",
    # (ώ, ΐ, Ί as escapes: an editor's NFC would turn them into their Greek-block twins)
    r"\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    r"\s?[!-/:-~！-／：-～‘-‟　-。]+",
    r"\s+$",
    r"[一-龥ࠀ-一가-퟿]+",
    r"\p{N}+",
    # DeepSeek-V3 style
    r"\p{N}{1,3}",
    r"[\p{P}\p{S}]+|\s+",
    # Metaspace / Whitespace / BERT-ish
    r"\w+|[^\w\s]+",
    r"\s+",
    r"\d+|\D",
    r"\W+?|\w{2,4}",
]

rnd = random.Random(11)


def assigned(ucd):
    cps = []
    first = None
    with open(ucd + "/UnicodeData.txt", encoding="utf-8") as f:
        for line in f:
            fl = line.split(";")
            cp = int(fl[0], 16)
            if fl[1].endswith(", First>"):
                first = cp
                continue
            lo = first if fl[1].endswith(", Last>") else cp
            first = None
            for x in range(lo, cp + 1):
                # Not U+0000: the C side reads texts as NUL-terminated JSON strings.
                if fl[2] != "Cs" and x != 0:
                    cps.append(x)
    return cps


CPS = assigned(ucd_dir)

lines = []
with open(shakespeare, encoding="utf-8") as f:
    for i, line in enumerate(f):
        if i >= 1500:
            break
        lines.append(line.rstrip("\n"))
lines += [
    "I'm sure you're right, they've said we'll go; he'd've known. DON'T SHOUT, IT'S LOUD.",
    "O'Neil's ' s 'S 'T 'RE 'Ve 'mM 'LL 'D 'ſ 'K 'ﬀ",
    "def f(x):\r\n    return x**2  # square\r\n\r\n\tprint(f'{x!r}')\n",
    "for (int i = 0; i < 10; i++) { a[i] = b[i] * 2; }   // loop\n\n\n",
    "https://example.com/path/to/file.html?q=1&r=2#frag",
    "你好，世界！这是一个测试。今天是2024年12月2日。",
    "日本語のテキスト、カタカナとひらがな。漢字も。",
    "한국어 텍스트입니다. 안녕하세요!",
    "مرحبا بالعالم! هذا اختبار ١٢٣٤٥٦٧ للأرقام العربية.",
    "नमस्ते दुनिया! यह एक परीक्षण है। १२३४५",
    "Ελληνικά: Καλημέρα κόσμε. ΣΊΣΥΦΟΣ σίσυφος",
    "Русский текст: Съешь же ещё этих мягких французских булок.",
    "emoji: 👨‍👩‍👧‍👦 👍🏽 🇫🇷 ❤️ 🏳️‍🌈 😀😃😄 #️⃣ *️⃣",
    "combining: e\u0301 a\u0308\u0304 n\u0303 Z\u0335\u0321\u0322 \u0301\u0301 q\u0323\u0307",
    "spaces:     five, tabs:\t\t\ttwo, mixed: \t \t end   ",
    "nbsp:\u00a0\u00a0x ideographic:\u3000\u3000y nel:\u0085z ls:\u2028ps:\u2029 fs:\x1c\x1d\x1e\x1f vt:\x0b ff:\x0c",
    "digits: 1 12 123 1234 12345 123456 1234567 3.14159 1,000,000 ①②③ ¼½ ⅷ ²³",
    "   leading spaces and trailing   ",
    "\n\n\nnewlines\n\n",
    "\r\n\r\n",
    "a\r\nb\rc\nd",
    "ALLCAPS CamelCase mixedUPandDown lowerUPPER HTTPServer iPhone McDonald's",
    "zero\u200bwidth\u200cjoin\u200dx\ufeffbom",
    "Ǆǅǆ ǈ ᾈᾉ ǲ titlecase",
    "𝐀𝐁𝐂 𝔸𝔹 mathematical 𝟘𝟙𝟚",
    "ﬁ ﬂ ﬃ ligatures Ⅻ ㍱ ㌀ ｆｕｌｌｗｉｄｔｈ １２３",
    "tricky: a--b ..., ?!?! (()) [] {} <> @#$%^&*_=+|\\~`",
]
# Random strings over every assigned code point, with spaces and newlines mixed in.
for _ in range(2500):
    k = rnd.randint(1, 24)
    s = []
    for _ in range(k):
        r = rnd.random()
        if r < 0.15:
            s.append(rnd.choice([" ", " ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "'"]))
        elif r < 0.45:
            s.append(chr(rnd.choice(CPS)))
        elif r < 0.7:
            s.append(chr(rnd.randint(0x20, 0x7E)))
        else:
            s.append(chr(rnd.choice(CPS[:3000])))
    lines.append("".join(s))


def byte_offsets(text):
    offs = [0]
    for ch in text:
        offs.append(offs[-1] + len(ch.encode("utf-8")))
    return offs


speed = {}
with open(out_dir + "/regex.jsonl", "w", encoding="utf-8") as out:
    out.write(json.dumps({"patterns": PATTERNS}) + "\n")
    for pi, p in enumerate(PATTERNS):
        iso = pre_tokenizers.Split(Regex(p), behavior="isolated")
        rem = pre_tokenizers.Split(Regex(p), behavior="removed")
        for text in lines:
            gaps = {o for _, o in rem.pre_tokenize_str(text)}
            offs = byte_offsets(text)
            spans = []
            for _, (s, e) in iso.pre_tokenize_str(text):
                if (s, e) not in gaps:
                    spans += [offs[s], offs[e]]
            out.write(json.dumps([pi, text, spans], ensure_ascii=False) + "\n")
        # Throughput of tokenizers' Split on the same lines (Python call overhead included).
        total = sum(len(t.encode("utf-8")) for t in lines)
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            for text in lines:
                iso.pre_tokenize_str(text)
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        big = "\n".join(lines)
        t0 = time.perf_counter()
        iso.pre_tokenize_str(big)
        dt_big = time.perf_counter() - t0
        speed[pi] = {"bytes": total, "lines_s": best, "one_string_s": dt_big}
with open(out_dir + "/speed.json", "w") as f:
    json.dump(speed, f)

FORMS = {
    "NFC": normalizers.NFC(),
    "NFD": normalizers.NFD(),
    "NFKC": normalizers.NFKC(),
    "NFKD": normalizers.NFKD(),
    "Lowercase": normalizers.Lowercase(),
}
norm_lines = []
# Every assigned code point, 32 to a line, each after a base letter and before two marks
# that reorder (ccc 220 then 230), so decomposition, ordering and composition all run.
chunk = []
for cp in CPS:
    chunk.append("a" + chr(cp) + "\u0301\u0316")
    if len(chunk) == 32:
        norm_lines.append("".join(chunk))
        chunk = []
if chunk:
    norm_lines.append("".join(chunk))
# Plain runs too (no context).
for i in range(0, len(CPS), 64):
    norm_lines.append("".join(chr(c) for c in CPS[i : i + 64]))
with open(ucd_dir + "/NormalizationTest.txt", encoding="utf-8") as f:
    for line in f:
        if line.startswith(("#", "@")) or not line.strip():
            continue
        cols = line.split(";")[:5]
        for c in cols:
            norm_lines.append("".join(chr(int(x, 16)) for x in c.split()))
with open(out_dir + "/norm.jsonl", "w", encoding="utf-8") as out:
    for name, nz in FORMS.items():
        for text in norm_lines:
            out.write(json.dumps([name, text, nz.normalize_str(text)], ensure_ascii=False) + "\n")
print("diff_gen: %d regex lines x %d patterns, %d normalizer lines x %d forms"
      % (len(lines), len(PATTERNS), len(norm_lines), len(FORMS)))
