"""Tiny random-init models of the real AST and BEATs classes, shared by the model tests."""

from __future__ import annotations

import torch

from acom.models.beats import BEATs, BEATsConfig, build_network

#: A tiny AST architecture (ASTConfig keys).
TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}

#: A tiny BEATs architecture in the official cfg layout.
TINY_CFG = {
    "input_patch_size": 16, "embed_dim": 24, "conv_bias": False, "encoder_layers": 2, "encoder_embed_dim": 32,
    "encoder_ffn_embed_dim": 64, "encoder_attention_heads": 4, "activation_fn": "gelu", "layer_norm_first": False,
    "deep_norm": True, "conv_pos": 16, "conv_pos_groups": 4, "relative_position_embedding": True,
    "num_buckets": 32, "max_distance": 64, "gru_rel_pos": True, "dropout": 0.0, "attention_dropout": 0.0,
    "activation_dropout": 0.0, "encoder_layerdrop": 0.05, "dropout_input": 0.0,
    "layer_wise_gradient_decay_ratio": 0.6, "predictor_dropout": 0.0, "predictor_class": 527,
}


def randomise_embeddings(model) -> None:
    """transformers initialises position embeddings and the CLS/distillation tokens to zero; random
    values make the position-embedding crop and padding checks meaningful."""
    base = getattr(model, "audio_spectrogram_transformer", model)
    with torch.no_grad():
        for tensor in (base.embeddings.position_embeddings, base.embeddings.cls_token,
                       base.embeddings.distillation_token):
            tensor.normal_(0.0, 0.5)


def tiny_network(finetuned: bool, seed: int) -> tuple[dict, BEATs]:
    """A tiny network in the official layout with every tensor random (layer norms and gates too)."""
    cfg = {**TINY_CFG, "finetuned_model": finetuned}
    network = build_network(BEATsConfig.from_mapping(cfg), None, seed=seed)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name, param in network.named_parameters():
            if "layer_norm" in name or "grep_a" in name or name.endswith("bias"):
                param.add_(0.1 * torch.randn_like(param))
    return cfg, network
