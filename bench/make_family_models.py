#!/usr/bin/env python3
"""bench/make_family_models.py — base-sized checkpoints of the encoder families
with random weights (fixed seed), for benchmarks: the shapes of roberta-base,
xlm-roberta-base, mpnet-base (all-mpnet-base-v2), ModernBERT-base,
Qwen3-0.6B (Qwen3-Embedding-0.6B's encoder), EmbeddingGemma-300m and
deberta-v3-base, saved with save_pretrained under DIR (default
/tmp/sinter-families/NAME).
Developer-run with the fixtures venv (torch, transformers); not CI.

    .venv/bin/python bench/make_family_models.py [--only modernbert-base] [--dir DIR]
"""
import argparse
import os

import torch
import transformers

SHAPES = {
    "roberta-base": lambda: transformers.RobertaModel(transformers.RobertaConfig(
        vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1),
        add_pooling_layer=False),
    "xlm-roberta-base": lambda: transformers.XLMRobertaModel(transformers.XLMRobertaConfig(
        vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1),
        add_pooling_layer=False),
    "mpnet-base": lambda: transformers.MPNetModel(transformers.MPNetConfig(
        vocab_size=30527, max_position_embeddings=514, layer_norm_eps=1e-5),
        add_pooling_layer=False),
    # answerdotai/ModernBERT-base's config: 22 layers, a global layer every
    # third, 128-token local windows, 8192 positions, GeGLU of 1152.
    "modernbert-base": lambda: transformers.ModernBertModel(transformers.ModernBertConfig(
        vocab_size=50368, hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
        num_attention_heads=12, max_position_embeddings=8192, local_attention=128,
        global_attn_every_n_layers=3, pad_token_id=50283)),
    # Qwen3-Embedding-0.6B's shape: 28 layers, 16 heads over 8 key/value heads of
    # 128, hidden 1024, SwiGLU of 3072.
    "qwen3-0.6b": lambda: transformers.Qwen3Model(transformers.Qwen3Config(
        vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128,
        max_position_embeddings=32768, rms_norm_eps=1e-6, tie_word_embeddings=True)),
    # google/embeddinggemma-300m's Gemma3TextModel: 24 layers, 3 heads over one
    # key/value head of 256, hidden 768, GeGLU of 1152, bidirectional, sliding
    # windows of 512 (257 each side) with a global layer every sixth.
    "embeddinggemma-300m": lambda: transformers.Gemma3TextModel(transformers.Gemma3TextConfig(
        vocab_size=262144, hidden_size=768, intermediate_size=1152, num_hidden_layers=24,
        num_attention_heads=3, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
        max_position_embeddings=2048, rms_norm_eps=1e-6, sliding_window=512,
        use_bidirectional_attention=True, attn_implementation="eager")),
    # microsoft/deberta-v3-base's config: 12 layers of 768, disentangled
    # attention (p2c and c2p) over 256 log buckets with layer-normed, shared
    # relative embeddings, no absolute positions, no token types.
    "deberta-v3-base": lambda: transformers.DebertaV2Model(transformers.DebertaV2Config(
        vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512,
        type_vocab_size=0, layer_norm_eps=1e-7, relative_attention=True, position_buckets=256,
        norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"],
        max_relative_positions=-1, position_biased_input=False, pad_token_id=0)),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/sinter-families")
    ap.add_argument("--only", default=",".join(SHAPES))
    args = ap.parse_args()
    for name in args.only.split(","):
        out = os.path.join(args.dir, name)
        if os.path.exists(os.path.join(out, "config.json")):
            print(f"{out}: present")
            continue
        torch.manual_seed(0)
        model = SHAPES[name]().eval()
        model.save_pretrained(out)
        n = sum(p.numel() for p in model.parameters())
        print(f"{out}: {n / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()
