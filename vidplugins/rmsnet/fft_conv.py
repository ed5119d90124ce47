"""'Same'-padded 1-D convolutions of many short windows through the FFT (inference only).

Sliding-window inference over a match runs the two temporal convolutions of Table 4.1 on every
window with zero padding at the window's borders. By the convolution theorem, a zero-padded
convolution of a length-T window with a k-tap kernel equals a circular one of length
``n >= T + k // 2``: the wrapped-around terms only land on output positions that 'same' padding
discards. In the frequency domain each of the ``n // 2 + 1`` bins is one small matrix product
(C_in -> C_out), about 4x fewer multiply-adds than the direct convolution for T = 41, k = 9.
The numbers equal ``torch.nn.functional.conv1d`` up to float32 rounding (about 1e-6 relative).

Layout is time first, ``(T, B, C)``, so both FFTs and the per-bin products need no transposes.
"""
import torch


def fft_length(window: int, kernel_size: int) -> int:
    """Smallest circular length that reproduces a 'same' zero-padded convolution (odd k)."""
    if kernel_size % 2 != 1:
        raise ValueError(f'kernel_size must be odd for same padding, got {kernel_size}')
    return window + kernel_size // 2


def frequency_weights(weight: torch.Tensor, n: int) -> torch.Tensor:
    """Kernel of ``nn.Conv1d`` (C_out, C_in, k) -> real per-bin matrices (F, 2 C_in, 2 C_out).

    Rows are ordered (input channel, real / imaginary part) and columns (output channel, real /
    imaginary), so that ``view_as_real(X) @ W`` is the complex product ``X @ W_c`` per bin.
    ``conv1d`` is a cross-correlation, hence the flipped kernel.
    """
    wc = torch.fft.rfft(weight.flip(-1), n=n).permute(2, 1, 0)    # (F, C_in, C_out) complex
    re, im = wc.real, wc.imag
    out = weight.new_empty(wc.shape[0], wc.shape[1], 2, wc.shape[2], 2)
    out[:, :, 0, :, 0] = re
    out[:, :, 0, :, 1] = im
    out[:, :, 1, :, 0] = -im
    out[:, :, 1, :, 1] = re
    return out.reshape(wc.shape[0], 2 * wc.shape[1], 2 * wc.shape[2])


def conv1d_same_fft(x: torch.Tensor, freq_weight: torch.Tensor, bias: torch.Tensor,
                    n: int, kernel_size: int) -> torch.Tensor:
    """'Same' convolution of every window, equal to ``conv1d(x, w, b, padding=k // 2)``.

    Args:
        x: (T, B, C_in) windows, time first.
        freq_weight: (n // 2 + 1, 2 C_in, 2 C_out) from :func:`frequency_weights`.
        bias: (C_out,).
        n: circular length (:func:`fft_length`).
        kernel_size: k of the convolution.
    Returns:
        (T, B, C_out).
    """
    t, b, _ = x.shape
    spec = torch.fft.rfft(x, n=n, dim=0)                             # (F, B, C_in) complex
    bins = spec.shape[0]
    prod = torch.bmm(torch.view_as_real(spec).reshape(bins, b, -1), freq_weight)
    prod = torch.view_as_complex(prod.view(bins, b, -1, 2))           # (F, B, C_out)
    pad = kernel_size // 2
    return torch.fft.irfft(prod, n=n, dim=0)[pad:pad + t] + bias
