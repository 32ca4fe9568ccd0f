#!/usr/bin/env python3
"""Exactness of metronome's tokenizer.json engine against the PyPI `tokenizers` package.

  exactness.py METRONOME WORKDIR [--only NAME] [--real DIR] [--corpus-only]

1. Builds a >= 1 MB test corpus (seeded, deterministic): English prose (the vendored
   Shakespeare), C source (this repository's src/), CJK, Arabic, Hindi, emoji with ZWJ
   sequences and skin tones, combining marks, long whitespace and digit runs, and lines
   with invalid UTF-8.
2. Trains tokenizer configurations with `tokenizers` that together use every component the
   engine supports, and saves each as tokenizer.json. Real tokenizer.json files given with
   --real are added as they are.
3. For each file, `metronome tokenize --decode` encodes every line (add_special_tokens=True)
   and decodes the ids; the same is done with `tokenizers` (the line's bytes decoded with
   errors="replace", which is what a Python caller hands it). Ids and decoded text must be
   equal on every line; one mismatch fails the run.
"""
import json
import os
import random
import subprocess
import sys
import time

from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

GPT2 = None  # ByteLevel's built-in regex
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
         r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
         r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
DEEPSEEK = [r"\p{N}{1,3}", r"[一-龥\u3040-ゟ゠-ヿ]+",
            r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
            r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]


# ---------------------------------------------------------------- corpus

CJK = "東京都の天気は晴れです。日本語のテキストを処理する。中文分词测试，我们今天去北京。한국어 문장도 있습니다."
ARABIC = "مرحبا بالعالم، هذه جملة عربية مع أرقام ١٢٣٤ وتشكيل: كَتَبَ الوَلَدُ الدَّرْسَ."
HINDI = "नमस्ते दुनिया, यह एक हिंदी वाक्य है। क्षत्रिय ज्ञान श्री १२३४५"
EMOJI = ["👩‍👩‍👧‍👦", "👨🏽‍💻", "🏳️‍🌈", "❤️", "🇫🇷", "👍🏿", "🧑‍🤝‍🧑", "😀", "🤖", "✨"]
COMBINING = ["e\u0301", "a\u0308\u0323", "n\u0303", "\u1e9b\u0323", "Å", "ﬁ", "①", "Ⅻ", "ｶﾀｶﾅ",
             "x\u0336\u0336", "o\u0302\u0301", "ǅ", "İstanbul", "ΣΑΣ", "straße", "Ⓐⓑ"]
WORDS = ("the of and to in is you that it he was for on are as with his they I at be this "
         "have from or one had by word but not what all were we when your can said there "
         "use an each which she do how their if will up other about out many then them "
         "naïve café résumé coöperate Ünïcödé façade jalapeño").split()


def rand_unicode_line(rng):
    parts = []
    for _ in range(rng.randint(1, 25)):
        k = rng.random()
        if k < 0.25:
            parts.append(rng.choice(WORDS) + rng.choice(["", "", ",", ".", "'s", "'ll", "'RE", "?!"]))
        elif k < 0.35:
            s = rng.randrange(len(CJK) - 8)
            parts.append(CJK[s:s + rng.randint(1, 8)])
        elif k < 0.43:
            s = rng.randrange(len(ARABIC) - 8)
            parts.append(ARABIC[s:s + rng.randint(1, 10)])
        elif k < 0.50:
            s = rng.randrange(len(HINDI) - 8)
            parts.append(HINDI[s:s + rng.randint(1, 10)])
        elif k < 0.58:
            parts.append("".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4))))
        elif k < 0.66:
            parts.append(rng.choice(COMBINING))
        elif k < 0.72:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 30))))
        elif k < 0.78:
            parts.append(rng.choice([" " * rng.randint(2, 40), "\t" * rng.randint(1, 5),
                                     "\u3000", "\u00a0", "\r", " \t \u2003 ", "\u200b", "\x0b"]))
        elif k < 0.84:
            parts.append("".join(chr(rng.randint(0x21, 0x7e)) for _ in range(rng.randint(1, 6))))
        elif k < 0.88:
            parts.append("".join(chr(rng.choice([rng.randint(0xa0, 0x24f), rng.randint(0x370, 0x52f),
                                                 rng.randint(0x1f300, 0x1f6ff), rng.randint(0x2000, 0x2bff),
                                                 rng.randint(0xe000, 0xe0ff), rng.randint(0x10000, 0x1007f)]))
                                 for _ in range(rng.randint(1, 5))))
        else:
            parts.append(rng.choice(["<s>", "</s>", "[CLS]", "[MASK]", "<mask>", "<|endoftext|>",
                                     "<|im_start|>", "<unk>", "[SEP]", "hello<|im_end|>world"]))
    sep = rng.choice([" ", " ", " ", "", "  "])
    return sep.join(parts)


def invalid_utf8(rng, line):
    b = bytearray(line.encode())
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(b))
        bad = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80\x80", b"\xed\xa0\x80",
                          b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"\xfe\xfe"])
        b[pos:pos] = bad
    return bytes(b)


def build_corpus(root, rng):
    lines = []
    shakespeare = open(os.path.join(root, "vendor/src/corpus/shakespeare.txt"), "rb").read().split(b"\n")
    start = rng.randrange(max(1, len(shakespeare) - 6000))
    lines += [l for l in shakespeare[start:start + 6000]]
    code = []
    for d, _, files in sorted(os.walk(os.path.join(root, "src"))):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                code += open(os.path.join(d, f), "rb").read().split(b"\n")
    lines += code[:5000]
    for _ in range(4500):
        lines.append(rand_unicode_line(rng).encode())
    for _ in range(600):
        lines.append(invalid_utf8(rng, rand_unicode_line(rng)))
    lines += [b"", b" ", b"  ", b"\t", b"1" * 300, b" " * 500, b"9" * 17 + b" " + b"0" * 40,
              "\u0301\u0301\u0301".encode(), b"a\r\nb", b"\xff" * 10]
    rng.shuffle(lines)
    return [l.replace(b"\n", b"") for l in lines]


# ---------------------------------------------------------------- configurations

def train_text(corpus, n=4000):
    return [l.decode("utf-8", "replace") for l in corpus[:n]]


def bytelevel_bpe(text, split=None, prefix=False, ignore_merges=False, specials=(), post=None,
                  normalizer=None, vocab=1500):
    t = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer:
        t.normalizer = normalizer
    if split is None:
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=prefix)
    elif isinstance(split, list):
        t.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(p), behavior="isolated") for p in split] +
            [pre_tokenizers.ByteLevel(add_prefix_space=prefix, use_regex=False)])
    else:
        t.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=prefix, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=vocab, special_tokens=list(specials), show_progress=False,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t.train_from_iterator(text, tr)
    if post is not None:
        t.post_processor = post
    return t


def configs(corpus):
    text = train_text(corpus)
    out = {}

    t = bytelevel_bpe(text, specials=["<|endoftext|>"])
    t.post_processor = processors.ByteLevel(trim_offsets=False)
    out["gpt2"] = t

    t = bytelevel_bpe(text, split=LLAMA3, ignore_merges=True,
                      specials=["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"])
    bos = t.token_to_id("<|begin_of_text|>")
    t.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    out["llama3"] = t

    t = bytelevel_bpe(text, split=QWEN2, normalizer=normalizers.NFC(),
                      specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    out["qwen2"] = t

    t = bytelevel_bpe(text, split=O200K, specials=["<|endoftext|>"], vocab=1200)
    out["o200k"] = t

    t = bytelevel_bpe(text, split=DEEPSEEK, specials=["<｜begin▁of▁sentence｜>"], vocab=1200)
    out["deepseek"] = t

    # Llama-2 style: normalizer prepends and replaces spaces, byte fallback, fused unknowns.
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    t.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                   decoders.Strip(" ", 1, 0)])
    tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>", "<s>", "</s>"] +
                             ["<0x%02X>" % b for b in range(256)], show_progress=False)
    t.train_from_iterator(text[:3000], tr)
    t.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                     special_tokens=[("<s>", t.token_to_id("<s>"))])
    out["llama2"] = t

    # Mistral style: Metaspace with prepend_scheme first, byte fallback.
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    t.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first"),
                                   decoders.ByteFallback(), decoders.Fuse()])
    tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>", "<s>", "</s>"] +
                             ["<0x%02X>" % b for b in range(256)], show_progress=False)
    t.train_from_iterator(text[:3000], tr)
    t.add_special_tokens([AddedToken("[INST]", special=True), AddedToken("[/INST]", special=True)])
    out["mistral"] = t

    # BERT: WordPiece with its normalizer, pre-tokenizer, post-processor and decoder.
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tr = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                   show_progress=False)
    t.train_from_iterator(text, tr)
    t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")),
                                                 ("[CLS]", t.token_to_id("[CLS]")))
    out["bert"] = t

    # BERT cased, no accent stripping, Chinese chars kept whole: other BertNormalizer flags.
    t = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                              strip_accents=False, lowercase=False)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tr = trainers.WordPieceTrainer(vocab_size=1500, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                   show_progress=False)
    t.train_from_iterator(text, tr)
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", t.token_to_id("[CLS]")), ("[SEP]", t.token_to_id("[SEP]"))])
    t.add_special_tokens([AddedToken("[MASK]", special=True, lstrip=True, rstrip=False)])
    out["bert_cased"] = t

    # Unigram (T5 / ALBERT style): NFKC, Metaspace always, byte fallback.
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    t.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tr = trainers.UnigramTrainer(vocab_size=8000, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                 show_progress=False)
    t.train_from_iterator(text, tr)
    t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                     special_tokens=[("</s>", t.token_to_id("</s>"))])
    out["unigram"] = t

    # Unigram with byte fallback and Metaspace never + WhitespaceSplit.
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.NFKD()
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                               pre_tokenizers.Metaspace(prepend_scheme="never")])
    t.decoder = decoders.Sequence([decoders.Metaspace(prepend_scheme="never"), decoders.ByteFallback()])
    tr = trainers.UnigramTrainer(vocab_size=8000, special_tokens=["<unk>"] + ["<0x%02X>" % b for b in range(256)],
                                 unk_token="<unk>", show_progress=False)
    t.train_from_iterator(text, tr)
    # The trainer has no byte_fallback option: switch it on in the model's JSON.
    j = json.loads(t.to_str())
    j["model"]["byte_fallback"] = True
    out["unigram_bf"] = Tokenizer.from_str(json.dumps(j))

    # RoBERTa: byte level with a prefix space, RobertaProcessing, <mask> with lstrip.
    t = bytelevel_bpe(text, prefix=True, specials=["<s>", "<pad>", "</s>", "<unk>"])
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=True, add_prefix_space=True)
    out["roberta"] = t

    # Normalizers and pre-tokenizers that real files use less: NFD + StripAccents + Lowercase
    # + Strip + Replace(regex), Whitespace / Digits / Punctuation, BPE with a continuing
    # subword prefix and an end-of-word suffix, BPEDecoder, and added tokens with every flag.
    t = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                         normalizers.Strip(left=True, right=True),
                                         normalizers.Replace(Regex(r"\d{5,}"), "<num>")])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
                                               pre_tokenizers.Punctuation(behavior="isolated")])
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=["[UNK]"], continuing_subword_prefix="##",
                             end_of_word_suffix="</w>", show_progress=False)
    t.train_from_iterator(text, tr)
    t.add_tokens([AddedToken("the", single_word=True), AddedToken("you", rstrip=True, normalized=True),
                  AddedToken("Naïve", normalized=True), AddedToken("ＣＡＦＥ", normalized=False, lstrip=True),
                  AddedToken("hello", single_word=True, lstrip=True, rstrip=True, normalized=False)])
    out["classic"] = t

    # Split behaviours and invert, Digits contiguous, Punctuation merged, Strip one side,
    # a WordPiece decoder over a BPE, a CTC decoder.
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.Strip(left=False, right=True), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[aeiou]"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\p{N}+"), behavior="contiguous", invert=True),
        pre_tokenizers.Split(Regex(r"[\.,;:]"), behavior="removed"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Punctuation(behavior="merged_with_next"),
    ])
    t.decoder = decoders.CTC(pad_token="<pad>", word_delimiter_token="|", cleanup=True)
    tr = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<unk>", "<pad>", "|"], show_progress=False)
    t.train_from_iterator(text[:2000], tr)
    out["splits"] = t

    t = Tokenizer(models.BPE(unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s+"), behavior="isolated", invert=True),
        pre_tokenizers.Split(Regex(r"(?i)the"), behavior="merged_with_previous", invert=True),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Punctuation(behavior="removed"),
    ])
    t.decoder = decoders.Sequence([decoders.WordPiece(prefix="##", cleanup=False),
                                   decoders.Strip(content=" ", left=0, right=1)])
    tr = trainers.BpeTrainer(vocab_size=800, special_tokens=["<unk>"], show_progress=False)
    t.train_from_iterator(text[:2000], tr)
    out["splits_invert"] = t
    return out


# ---------------------------------------------------------------- comparison

def compare(name, path, metronome, corpus_path, lines, work):
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    t0 = time.time()
    texts = [l.decode("utf-8", "replace") for l in lines]
    encs = tok.encode_batch(texts, add_special_tokens=True)
    want_ids = [e.ids for e in encs]
    want_dec = tok.decode_batch(want_ids, skip_special_tokens=False)
    t1 = time.time()
    r = subprocess.run([metronome, "tokenize", "--tokenizer", path, "--input", corpus_path, "--decode"],
                       capture_output=True)
    t2 = time.time()
    if r.returncode != 0:
        print(f"{name}: metronome failed: {r.stderr.decode(errors='replace').strip()}")
        return len(lines), len(lines), 0
    got = r.stdout.split(b"\n")
    if got and got[-1] == b"":
        got.pop()
    bad = 0
    bad_dec = 0
    shown = 0
    for i, line in enumerate(lines):
        g = got[i] if i < len(got) else b"\t"
        ids_s, _, hexs = g.partition(b"\t")
        ids = [int(x) for x in ids_s.split()] if ids_s else []
        dec = bytes.fromhex(hexs.decode()).decode("utf-8", "replace")
        if ids != want_ids[i]:
            bad += 1
            if shown < 3:
                shown += 1
                print(f"{name}: line {i + 1}: {line[:120]!r}")
                print(f"    tokenizers: {want_ids[i][:40]}")
                print(f"    metronome:  {ids[:40]}")
                k = next((j for j in range(min(len(ids), len(want_ids[i]))) if ids[j] != want_ids[i][j]),
                         min(len(ids), len(want_ids[i])))
                print(f"    first difference at token {k}: tokenizers "
                      f"{[tok.id_to_token(x) for x in want_ids[i][k:k + 5]]} metronome "
                      f"{[tok.id_to_token(x) for x in ids[k:k + 5]]}")
        elif dec != want_dec[i]:
            bad_dec += 1
            if shown < 3:
                shown += 1
                print(f"{name}: line {i + 1}: decode differs")
                print(f"    tokenizers: {want_dec[i][:100]!r}")
                print(f"    metronome:  {dec[:100]!r}")
    print(f"{name}: {len(lines)} lines, {sum(len(x) for x in want_ids)} tokens, "
          f"{bad} id mismatches, {bad_dec} decode mismatches "
          f"(tokenizers {t1 - t0:.2f}s, metronome {t2 - t1:.2f}s)")
    return len(lines), bad, bad_dec


def main():
    metronome, work = sys.argv[1], sys.argv[2]
    only = None
    real = []
    corpus_only = False
    args = sys.argv[3:]
    while args:
        a = args.pop(0)
        if a == "--only":
            only = args.pop(0)
        elif a == "--corpus-only":
            corpus_only = True
        elif a == "--real":
            d = args.pop(0)
            real += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".json")]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.makedirs(work, exist_ok=True)
    rng = random.Random(20261202)
    lines = build_corpus(root, rng)
    corpus_path = os.path.join(work, "corpus.txt")
    with open(corpus_path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    size = os.path.getsize(corpus_path)
    print(f"corpus: {len(lines)} lines, {size} bytes")
    assert size >= 1_000_000, "the corpus must be at least 1 MB"
    if corpus_only:
        return
    total_bad = 0
    n_cfg = 0
    t0 = time.time()
    cfgs = configs(lines)
    print(f"trained {len(cfgs)} configurations in {time.time() - t0:.1f}s")
    for name, t in cfgs.items():
        if only and only not in name:
            continue
        path = os.path.join(work, name + ".json")
        t.save(path)
        n, bad, bad_dec = compare(name, path, metronome, corpus_path, lines, work)
        total_bad += bad + bad_dec
        n_cfg += 1
    for path in real:
        name = "real:" + os.path.basename(path)
        if only and only not in name:
            continue
        n, bad, bad_dec = compare(name, path, metronome, corpus_path, lines, work)
        total_bad += bad + bad_dec
        n_cfg += 1
    print(f"exactness: {n_cfg} tokenizers x {len(lines)} lines, {total_bad} mismatches")
    sys.exit(1 if total_bad else 0)


if __name__ == "__main__":
    main()
