"""Build the real-server tier's models: small random-weight Llama checkpoints for vLLM's CPU
build, with a byte-level BPE tokenizer trained here on a local text (no model hub is
reachable).

Size: 8 layers, hidden 1024 (130M parameters, 260 MB), about 60 tokens/s at concurrency 1
on this 2-core host. A smaller model (4 layers, hidden 256: 200 tokens/s) makes vLLM's
engine outrun its own HTTP frontend: the frontend's output loop then never yields, and a
whole response reaches the client at once, up to 250 ms after vLLM's /metrics say its first
token was out. That is true of vLLM, but it makes vLLM's histograms useless as the
reference the tier holds our TTFT against. At 16 ms a token the frontend keeps up.

  python make_model.py CORPUS OUT-DIR

writes
  OUT-DIR/tiny/             LlamaForCausalLM, its tokenizer and chat template; served as
                            "tiny"
  OUT-DIR/tiny-reasoning/   the same weights and tokenizer, whose chat template opens a
                            <think> block: served with --reasoning-parser deepseek_r1, every
                            token up to </think> is reasoning
  OUT-DIR/hf-cache/         the tokenizer as a Hugging Face cache snapshot of the made-up repo
                            "local/tiny-llama": AIPerf 0.13 resolves tokenizers offline
                            (HF_HUB_OFFLINE=1) only through the cache, not from a directory
Deterministic: fixed seeds, so every machine serves the same model.
"""
import os
import shutil
import sys

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

corpus, out = sys.argv[1], sys.argv[2]
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"

# Role markers are plain text; <think> and </think> are added (non-special) tokens so that
# the deepseek_r1 parser finds them as single ids and they still show in decoded text.
TEMPLATE = (
    "{{ bos_token }}"
    "{% for m in messages %}"
    "<|{{ m['role'] }}|>\n"
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for p in m['content'] %}{% if p['text'] is defined %}{{ p['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\nGEN{% endif %}"
)

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train([corpus], trainers.BpeTrainer(vocab_size=16000, special_tokens=[BOS, EOS],
                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                        show_progress=False))
fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS,
                               unk_token=EOS, pad_token=EOS)
fast.add_tokens(["<think>", "</think>"])
vocab = len(fast)

torch.manual_seed(0)
cfg = LlamaConfig(vocab_size=vocab, hidden_size=1024, intermediate_size=2752, num_hidden_layers=8,
                  num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=4096,
                  bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                  pad_token_id=fast.pad_token_id, tie_word_embeddings=False,
                  torch_dtype="bfloat16")
model = LlamaForCausalLM(cfg).to(torch.bfloat16)

for name, gen in (("tiny", ""), ("tiny-reasoning", "<think>\n")):
    d = os.path.join(out, name)
    fast.chat_template = TEMPLATE.replace("GEN", gen)
    model.save_pretrained(d)
    fast.save_pretrained(d)

rev = "0" * 40
repo = os.path.join(out, "hf-cache", "models--local--tiny-llama")
snap = os.path.join(repo, "snapshots", rev)
os.makedirs(snap, exist_ok=True)
os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
with open(os.path.join(repo, "refs", "main"), "w") as f:
    f.write(rev)
for f in os.listdir(os.path.join(out, "tiny")):
    if f.endswith((".json", ".jinja")):
        shutil.copy(os.path.join(out, "tiny", f), snap)
print(f"real: models with a {vocab}-token vocabulary written to {out}", file=sys.stderr)
