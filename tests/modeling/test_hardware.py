"""Hardware detection and the quantization settings derived from it."""

from __future__ import annotations

import pytest
import torch

from expert_kedro.modeling.hardware import (
    HardwareInfo,
    build_quantization_config,
    detect_hardware,
    select_compute_dtype,
)
from expert_kedro.modeling.settings import QuantizationSettings

CPU = HardwareInfo("cpu", "CPU", 0, 16.0, bf16_supported=True, cpu_count=2)
OLD_CPU = HardwareInfo("cpu", "CPU", 0, 16.0, bf16_supported=False, cpu_count=2)
GPU = HardwareInfo("cuda", "H100", 1, 80.0, bf16_supported=True, cpu_count=16)
OLD_GPU = HardwareInfo("cuda", "T4", 1, 16.0, bf16_supported=False, cpu_count=8)


def test_detect_hardware_matches_torch(caplog):
    caplog.set_level("INFO")
    info = detect_hardware()
    assert info.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert info.total_memory_gib > 0 and info.cpu_count >= 1
    assert "bf16" in caplog.text and info.device_name in caplog.text


@pytest.mark.parametrize(
    ("requested", "hardware", "expected"),
    [
        ("auto", CPU, torch.bfloat16),
        ("auto", OLD_CPU, torch.float32),
        ("auto", GPU, torch.bfloat16),
        ("auto", OLD_GPU, torch.float16),
        ("bfloat16", OLD_GPU, torch.float16),
        ("float32", GPU, torch.float32),
    ],
)
def test_compute_dtype_fits_the_device(requested, hardware, expected):
    assert select_compute_dtype(requested, hardware) == expected


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="Unknown compute dtype 'fp8'"):
        select_compute_dtype("fp8", CPU)


def test_default_quantization_is_nf4_double_quant_bf16():
    config = build_quantization_config(QuantizationSettings(), CPU)
    assert config.load_in_4bit
    assert config.bnb_4bit_quant_type == "nf4"
    assert config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == torch.bfloat16
    full_precision = QuantizationSettings(load_in_4bit=False)
    assert build_quantization_config(full_precision, CPU) is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_is_reported_with_name_and_memory():
    info = detect_hardware()
    assert info.device == "cuda"
    assert info.device_name == torch.cuda.get_device_name(0)
    assert info.total_memory_gib > 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path")
def test_cpu_bf16_is_used_only_where_it_is_not_emulated():
    """On CPUs without AVX-512/Arm BF16, PyTorch emulates bf16 matmuls tens of
    times slower than float32: "auto" must then train and score in float32."""
    info = detect_hardware()
    native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert info.bf16_supported == native
    expected = torch.bfloat16 if native else torch.float32
    assert select_compute_dtype("auto", info) == expected
