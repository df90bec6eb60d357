import torch

from multigan.text.oracle import build_oracle, generator_samples, nll_oracle, oracle_entropy, oracle_sequences


def tiny_oracle(seed=3):
    return build_oracle(seed, vocab_size=20, embed_dim=8, hidden_dim=8)


def test_oracle_and_its_data_are_a_function_of_the_seed():
    a, b, c = tiny_oracle(3), tiny_oracle(3), tiny_oracle(4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.out.weight, c.out.weight)
    assert torch.equal(oracle_sequences(a, 50, 6, seed=1), oracle_sequences(b, 50, 6, seed=1))
    assert not torch.equal(oracle_sequences(a, 50, 6, seed=1), oracle_sequences(a, 50, 6, seed=2))
    assert oracle_sequences(a, 50, 6, seed=1).shape == (50, 6)


def test_paper_oracle_weights_are_standard_normal():
    oracle = build_oracle(0)  # vocabulary 5,000, embedding and hidden 32
    w = torch.cat([p.flatten() for n, p in oracle.named_parameters() if n != "lstm.bias_hh_l0"])
    assert oracle.vocab_size == 5000 and oracle.embed.embedding_dim == 32
    assert abs(w.mean().item()) < 0.02 and abs(w.std().item() - 1.0) < 0.02


def test_own_samples_score_the_entropy_and_uniform_tokens_the_uniform_value():
    oracle = tiny_oracle()
    own = oracle_sequences(oracle, 4000, 10, seed=1)
    entropy, _ = oracle_entropy(oracle, oracle_sequences(oracle, 4000, 10, seed=2))
    assert abs(nll_oracle(oracle, own) - entropy) < 0.05  # standard error ~0.008

    uniform = torch.randint(0, 20, (4000, 10), generator=torch.Generator().manual_seed(0))
    _, uniform_value = oracle_entropy(oracle, uniform)  # mean over the vocabulary of -log p, per prefix
    assert abs(nll_oracle(oracle, uniform) - uniform_value) < 0.05
    assert uniform_value > entropy + 1.0  # the metric tells them apart


def test_generator_samples_are_batched_and_reproducible():
    oracle = tiny_oracle()
    a = generator_samples(oracle, 70, 5, seed=0, batch=32)
    assert a.shape == (70, 5) and torch.equal(a, generator_samples(oracle, 70, 5, seed=0, batch=32))
