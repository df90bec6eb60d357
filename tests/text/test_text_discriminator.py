import torch

from multigan.text.models import PAPER_FILTER_SIZES, CNNDiscriminator


def test_paper_configuration_for_length_20():
    D = CNNDiscriminator(50, 20)
    assert D.filter_sizes == PAPER_FILTER_SIZES
    assert sum(c.out_channels for c in D.convs) == 1720
    assert D.embed.embedding_dim == 64 and D.dropout.p == 0.25


def test_filters_wider_than_max_len_are_dropped():
    D = CNNDiscriminator(50, 8)
    assert D.filter_sizes == (1, 2, 3, 4, 5, 6, 7, 8)


def test_sequences_shorter_than_the_widest_filter():
    D = CNNDiscriminator(30, 20).eval()
    for length in (1, 3, 19, 20, 25):
        x = torch.randint(1, 30, (4, length))
        out = D(x)
        assert out.shape == (4,) and torch.isfinite(out).all()
    # right-padding with the pad token is what a short sequence means
    x = torch.randint(1, 30, (4, 5))
    padded = torch.cat([x, torch.zeros(4, 15, dtype=torch.long)], 1)
    assert torch.allclose(D(x), D(padded))


def test_gradients_reach_every_filter_and_l2_only_the_output_layer():
    D = CNNDiscriminator(30, 20)
    D(torch.randint(0, 30, (8, 20))).sum().backward()
    assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0 for c in D.convs)
    D.zero_grad()
    D.l2_penalty().backward()
    grads = {n for n, p in D.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert grads == {"out.weight", "out.bias"}
