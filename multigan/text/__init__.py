"""SeqGAN for text: generators (LSTM, transformers causal LM), CNN discriminator, Monte Carlo
rollouts, the synthetic oracle, tokenizer, data and the adapter the core trainer runs."""
