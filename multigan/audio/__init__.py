"""Audio GANs: log-mel spectrogram (SpecGAN / GANSynth lineage) and waveform (WaveGAN) on torchaudio."""
