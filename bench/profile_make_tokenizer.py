"""Make an offline HuggingFace tokenizer directory for AIPerf: a byte-level BPE trained on
the Shakespeare corpus that AIPerf's own wheel ships (aiperf/dataset/generator/assets).

AIPerf 0.13 needs a tokenizer to build prompts; its default (the model's HF tokenizer) and
its `builtin` one (tiktoken o200k_base) both download files, and this machine has no
network beyond package registries. In offline mode (HF_HUB_OFFLINE=1) AIPerf resolves a
tokenizer only through the HF cache, not from a plain directory, so the tokenizer is written
as a cached snapshot of the made-up repo "local/shakespeare-bpe".
Usage: HF_HUB_CACHE=DIR python profile_make_tokenizer.py
then:  HF_HUB_CACHE=DIR HF_HUB_OFFLINE=1 aiperf profile --tokenizer local/shakespeare-bpe ...
"""
import os
import sys

import aiperf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

cache = os.environ["HF_HUB_CACHE"]
rev = "0" * 40
repo = os.path.join(cache, "models--local--shakespeare-bpe")
out = os.path.join(repo, "snapshots", rev)
os.makedirs(os.path.join(repo, "refs"), exist_ok=True)
with open(os.path.join(repo, "refs", "main"), "w") as f:
    f.write(rev)
corpus = os.path.join(os.path.dirname(aiperf.__file__), "dataset/generator/assets/shakespeare.txt")
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
tok.train([corpus], trainers.BpeTrainer(vocab_size=8192, special_tokens=["<|endoftext|>"],
                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                               bos_token="<|endoftext|>", unk_token="<|endoftext|>")
fast.save_pretrained(out)
print(f"tokenizer with {tok.get_vocab_size()} tokens written to {out}")
