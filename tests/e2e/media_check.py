"""Decodes every image and audio clip of a packed trace with standard decoders (Pillow,
Python's wave) and checks them against the pack options.

usage: media_check.py TRACE.jsonl (decompressed) JSON-EXPECTATIONS
       media_check.py pair PNG_TRACE.jsonl JPEG_TRACE.jsonl
The pair mode takes two traces packed with the same seed and options but --image-format png
and jpeg (so the same noise pixels): our JPEG must lose no more than Pillow's own
libjpeg encoding of the PNG's pixels at AIPerf's settings (quality 85, 4:4:4).
expectations: {"requests": N, "images": per request, "audios": per request,
               "width": [lo, hi], "height": [lo, hi], "formats": ["png", ...],
               "length": [lo, hi] seconds, "rates": [...], "depths": [...],
               "channels": C, "texts": per request}
Prints one summary line; exits 1 with the reason on the first mismatch.
"""

import base64
import io
import json
import statistics
import sys
import wave

from PIL import Image


def fail(msg):
    print("media_check: " + msg, file=sys.stderr)
    sys.exit(1)


def trace_images(path):
    out = []
    for line in open(path, encoding="utf-8").read().splitlines()[1:]:
        if not line.startswith('{"session"'):
            continue
        for p in json.loads(line)["body"]["messages"][0]["content"]:
            if p["type"] == "image_url":
                b64 = p["image_url"]["url"].split(",", 1)[1]
                out.append(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))
    return out


def mse(a, b):
    x, y = a.tobytes(), b.tobytes()
    return sum((p - q) ** 2 for p, q in zip(x, y)) / len(x)


def pair(png_path, jpeg_path):
    pngs, jpegs = trace_images(png_path), trace_images(jpeg_path)
    if not pngs or len(pngs) != len(jpegs):
        fail(f"{len(pngs)} PNG images, {len(jpegs)} JPEG images")
    for p, j in zip(pngs, jpegs):
        if p.size != j.size:
            fail(f"sizes {p.size} and {j.size} differ")
        ref = io.BytesIO()
        p.save(ref, format="JPEG", quality=85, subsampling=0)
        pil = Image.open(io.BytesIO(ref.getvalue())).convert("RGB")
        ours, theirs = mse(p, j), mse(p, pil)
        if ours > theirs * 1.05 + 1:
            fail(f"{p.size}: our JPEG's error {ours:.1f} exceeds libjpeg's {theirs:.1f}")
    print(f"media_check: {len(pngs)} JPEG images within 5% of libjpeg's error "
          f"(last: ours {ours:.1f}, libjpeg {theirs:.1f})")


def main():
    if sys.argv[1] == "pair":
        return pair(sys.argv[2], sys.argv[3])
    path, want = sys.argv[1], json.loads(sys.argv[2])
    lines = open(path, encoding="utf-8").read().splitlines()
    header = json.loads(lines[0])
    reqs = [json.loads(line) for line in lines[1:] if '"session"' in line[:12]]
    if len(reqs) != want["requests"]:
        fail(f"{len(reqs)} requests, wanted {want['requests']}")
    seen_fmt, seen_rates, seen_depths = set(), set(), set()
    widths, heights, lengths = [], [], []
    pixel_means = []
    for r in reqs:
        content = r["body"]["messages"][0]["content"]
        if not isinstance(content, list):
            fail("content is not a list of parts")
        kinds = [p["type"] for p in content]
        # AIPerf's order: the texts, then the images, then the audio
        expect = (["text"] * want["texts"] + ["image_url"] * want["images"]
                  + ["input_audio"] * want["audios"])
        if kinds != expect:
            fail(f"parts {kinds}, wanted {expect}")
        for p in content:
            if p["type"] == "image_url":
                url = p["image_url"]["url"]
                if set(p) != {"type", "image_url"} or set(p["image_url"]) != {"url"}:
                    fail(f"image part keys {sorted(p)}")
                head, b64 = url.split(",", 1)
                fmt = head[len("data:image/"):-len(";base64")]
                if not head.startswith("data:image/") or not head.endswith(";base64"):
                    fail(f"data URL head {head!r}")
                img = Image.open(io.BytesIO(base64.b64decode(b64, validate=True)))
                img.load()  # decodes every pixel: a bad Huffman code or CRC fails here
                if img.format.lower() != fmt or img.mode != "RGB":
                    fail(f"{fmt} URL holds {img.format} {img.mode}")
                seen_fmt.add(fmt)
                w, h = img.size
                widths.append(w)
                heights.append(h)
                if not (want["width"][0] <= w <= want["width"][1]):
                    fail(f"width {w} outside {want['width']}")
                if not (want["height"][0] <= h <= want["height"][1]):
                    fail(f"height {h} outside {want['height']}")
                # uniform noise: every channel averages 127.5 with stddev 73.9; a wrong
                # colour transform or DCT scaling moves these far
                for band in img.split():
                    data = band.tobytes()
                    if len(data) >= 2000:
                        m, s = statistics.fmean(data), statistics.pstdev(data)
                        pixel_means.append(m)
                        if abs(m - 127.5) > 6 or abs(s - 73.9) > (4 if fmt == "png" else 12):
                            fail(f"{fmt} {w}x{h}: channel mean {m:.1f} stddev {s:.1f}")
            elif p["type"] == "input_audio":
                a = p["input_audio"]
                if set(a) != {"data", "format"} or a["format"] != "wav":
                    fail(f"input_audio {sorted(a)} format {a.get('format')}")
                raw = base64.b64decode(a["data"], validate=True)
                with wave.open(io.BytesIO(raw)) as wv:
                    rate, depth = wv.getframerate(), wv.getsampwidth() * 8
                    ch, frames = wv.getnchannels(), wv.getnframes()
                    pcm = wv.readframes(frames)
                if len(pcm) != frames * ch * depth // 8:
                    fail("short data chunk")
                seen_rates.add(rate)
                seen_depths.add(depth)
                if ch != want["channels"]:
                    fail(f"{ch} channels, wanted {want['channels']}")
                secs = frames / rate
                lengths.append(secs)
                if not (want["length"][0] <= secs <= want["length"][1]):
                    fail(f"{secs:.4f} s outside {want['length']}")
                # Gaussian noise at 0.3 of full scale
                n = depth // 8
                step = max(1, frames * ch // 4000)
                vals = []
                for i in range(0, frames * ch, step):
                    b = pcm[i * n:(i + 1) * n]
                    v = b[0] - 128 if n == 1 else int.from_bytes(b, "little", signed=True)
                    vals.append(v / (2 ** (depth - 1)))
                if len(vals) > 500:
                    s = statistics.pstdev(vals)
                    if abs(statistics.fmean(vals)) > 0.05 or abs(s - 0.3) > 0.03:
                        fail(f"{depth}-bit audio: mean/stddev off ({s:.3f})")
    if want["images"] and sorted(seen_fmt) != sorted(want["formats"]):
        fail(f"formats {sorted(seen_fmt)}, wanted {want['formats']}")
    if want["audios"]:
        if sorted(seen_rates) != sorted(want["rates"]):
            fail(f"rates {sorted(seen_rates)}, wanted {want['rates']}")
        if sorted(seen_depths) != sorted(want["depths"]):
            fail(f"depths {sorted(seen_depths)}, wanted {want['depths']}")
    if "media" not in header:
        fail("no 'media' in the trace header")
    print(f"media_check: {len(reqs)} requests, {len(widths)} images "
          f"({','.join(sorted(seen_fmt))}) widths {min(widths, default=0)}-{max(widths, default=0)}, "
          f"{len(lengths)} clips rates {sorted(seen_rates)} depths {sorted(seen_depths)}")


main()
