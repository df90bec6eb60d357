"""Video from keywords, as a user runs it: the tiny keywords preset (16x16 captioned moving digits,
1 seed frame -> 3 frames), the captions of a user's folder, the compositional split, and a toy
trained here whose clips must follow the caption's motion."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import multigan
from multigan.core.checkpoint import checkpoint_dirs
from multigan.core.conditioning import CaptionVocabulary
from multigan.core.config import load_config
from multigan.core.errors import ConfigError
from multigan.core.export import load_folder_config
from multigan.io.video import probe, read_video, write_video
from multigan.metrics.motion import digit_centres, motion_axis
from multigan.recipes import video as recipe
from multigan.video.adapter import VideoAdapter
from multigan.video.config import VideoConfig, VideoModelConfig
from multigan.video.data import (
    MOTIONS,
    MovingDigits,
    caption_of,
    captioned_clip,
    make_moving_digits,
    parse_caption,
    seen_pair,
)
from multigan.video.models import FirstFrameGenerator, VideoDiscriminator, VideoGenerator

TINY = Path(__file__).resolve().parents[2] / "recipes" / "tiny" / "video_keywords.yaml"


@pytest.fixture(scope="module")
def keyword_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("keywords_run")
    cache = tmp_path_factory.mktemp("cache")
    assert recipe.main(["--config", str(TINY), f"out_dir={out}", f"data.cache_dir={cache}"]) == 0
    return out


def test_the_tiny_preset_trains_with_captions_and_samples_keyword_clips(keyword_run):
    phases = [json.loads(line)["phase"] for line in (keyword_run / "metrics.jsonl").read_text().splitlines()]
    assert phases[0] == "first_frame" and phases[-1] == "adversarial"  # 2 steps of the first-frame VAE first
    samples = keyword_run / "samples" / "step_00000006"  # 2 + 4 steps
    drawn = probe(samples / "keywords.mp4")
    assert drawn.frames == 1 + 3  # the first frame is drawn too
    captions = (samples / "keywords.txt").read_text().splitlines()
    assert len(captions) == 2 and all(parse_caption(c) for c in captions)
    vocabulary = CaptionVocabulary.load(keyword_run / "vocabulary.json")
    assert {"up", "down", "left", "right"} <= set(vocabulary.known_words())
    report = json.loads((keyword_run / "evaluation.json").read_text())
    rows = report["captions"]["rows"]
    assert set(rows) == {"keywords", "seed+keywords", "seed+other motion", "real", "wrong caption"}
    assert set(rows["keywords"]) == {"seen", "held-out"}
    assert rows["keywords"]["seen"]["clips"] == rows["keywords"]["held-out"]["clips"] == 100  # 10 pairs x 10
    assert report["captions"]["chance"] == pytest.approx(0.05)


def test_training_again_resumes_with_the_saved_vocabulary(keyword_run, capsys):
    before = (keyword_run / "vocabulary.json").read_text()
    cache = yaml.safe_load((keyword_run / "config.yaml").read_text())["data"]["cache_dir"]
    assert (
        recipe.main(["--config", str(TINY), f"out_dir={keyword_run}", "train.steps=5", f"data.cache_dir={cache}"]) == 0
    )
    assert "Resumed from" in capsys.readouterr().out
    assert (keyword_run / "vocabulary.json").read_text() == before


def _known_digit(run: Path) -> str:
    return next(w for w in CaptionVocabulary.load(run / "vocabulary.json").known_words() if w.isdigit())


def test_generate_from_keywords_alone_draws_the_first_frame(keyword_run, tmp_path):
    out = tmp_path / "k.mp4"
    keywords = f"{_known_digit(keyword_run)} up and down"
    args = ["generate", "--run", str(keyword_run), "--keywords", keywords, "--num-frames", "16", "--out", str(out)]
    assert recipe.main(args) == 0
    assert read_video(out).shape == (16, 16, 16, 3)


def test_generate_from_seed_frames_and_keywords(keyword_run, tmp_path):
    seed = tmp_path / "seed.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((20, 20)) * 255).astype(np.uint8)).save(seed)
    out = tmp_path / "c.gif"
    keywords = f"the digit {_known_digit(keyword_run)} moves left and right"
    args = ["generate", "--run", str(keyword_run), "--seed-frames", str(seed), "--keywords", keywords]
    assert recipe.main([*args, "--num-frames", "5", "--out", str(out)]) == 0
    assert read_video(out).shape[0] == 1 + 5


def test_generate_from_a_seed_video_and_keywords_with_samples(keyword_run, tmp_path):
    video = tmp_path / "seed.mp4"
    write_video(video, (np.random.default_rng(1).random((6, 24, 24, 3)) * 255).astype(np.uint8))
    out = tmp_path / "v.mp4"
    keywords = f"{_known_digit(keyword_run)} up and down"
    args = ["generate", "--run", str(keyword_run), "--seed-video", str(video), "--keywords", keywords]
    assert recipe.main([*args, "--samples", "2", "--out", str(out)]) == 0
    assert [probe(tmp_path / f"v_{i}.mp4").frames for i in range(2)] == [1 + 10, 1 + 10]


def test_the_python_api_takes_keywords(keyword_run, tmp_path):
    model = multigan.load(keyword_run)
    keywords = f"{_known_digit(keyword_run)} left and right"
    clips = model.generate(keywords=keywords, num_frames=4, samples=2)
    assert clips.shape == (2, 4, 1, 16, 16) and clips.dtype == torch.uint8
    again = model.generate(keywords=keywords, num_frames=4, samples=2)
    assert torch.equal(clips, again)  # seeded
    exported = model.save_pretrained(tmp_path / "exported")
    assert (exported / "vocabulary.json").is_file()
    assert torch.equal(multigan.load(exported).generate(keywords=keywords, num_frames=4, samples=2), clips)


def test_bad_keywords_are_one_line_naming_the_unknown_words(keyword_run, capsys):
    args = ["generate", "--run", str(keyword_run), "--keywords", "3 zigzags diagonally"]
    assert recipe.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'zigzags'" in err and "'diagonally'" in err and "up" in err


def test_keywords_on_a_model_trained_without_them_is_one_line(tmp_path, capsys):
    tiny = TINY.with_name("video.yaml")
    run = tmp_path / "plain"
    assert recipe.main(["--config", str(tiny), f"out_dir={run}", "train.steps=1", f"data.cache_dir={tmp_path}"]) == 0
    capsys.readouterr()
    assert recipe.main(["generate", "--run", str(run), "--keywords", "3 up and down"]) == 2
    assert "trained without keywords" in capsys.readouterr().err


def test_a_local_transformers_text_encoder_trains_and_generates_offline(tiny_bert, tmp_path):
    run = tmp_path / "bert_run"
    args = ["--config", str(TINY), f"out_dir={run}", f"data.cache_dir={tmp_path}", f"model.text_encoder={tiny_bert}"]
    assert recipe.main([*args, "train.steps=2"]) == 0
    assert not (run / "vocabulary.json").exists()  # the transformers model brings its own tokenizer
    clips = multigan.load(run).generate(keywords="the digit 3 moves up and down", num_frames=3)
    assert clips.shape == (1, 3, 1, 16, 16)


def test_keywords_need_captions():
    with pytest.raises(ConfigError, match="data.grammar"):
        load_config(VideoConfig, None, ["model.keywords=true"])
    with pytest.raises(ConfigError, match="data.grammar"):
        load_config(VideoConfig, None, ["data.grammar=three"])
    with pytest.raises(ConfigError, match="only for the moving digits"):
        load_config(VideoConfig, None, ["data.grammar=single", "data.path=/videos"])


# ---------------------------------------------------------------------------------- the data


def _captions(folder: Path) -> list[str]:
    with open(folder / "captions.csv", newline="") as f:
        return [row["caption"] for row in csv.DictReader(f)]


def test_training_never_sees_a_held_out_pair_and_the_test_split_has_all_twenty(tmp_path):
    cfg = MovingDigits(train_videos=60, test_videos=40, frames=4, size=16, digit_size=6, digits_per_clip=1)
    root = make_moving_digits(MovingDigits(**{**cfg.__dict__, "grammar": "single"}), tmp_path)
    train = [parse_caption(c) for c in _captions(root / "train")]
    assert len(train) == 60 and all(len(p) == 1 and seen_pair(*p[0]) for p in train)
    test = {p[0] for p in map(parse_caption, _captions(root / "test"))}
    assert test == {(d, m) for d in range(10) for m in range(2)}
    seen = {(d, m) for d in range(10) for m in range(2) if seen_pair(d, m)}
    assert len(seen) == 10 and {d for d, _ in seen} == set(range(10)) and {m for _, m in seen} == {0, 1}


def test_two_digit_captions_bind_a_motion_to_each_digit(tmp_path):
    cfg = MovingDigits(train_videos=20, test_videos=4, frames=4, size=32, digit_size=12, grammar="two")
    root = make_moving_digits(cfg, tmp_path)
    captions = _captions(root / "train")
    assert all(len(parse_caption(c)) == 2 for c in captions)
    assert all(all(seen_pair(*p) for p in parse_caption(c)) for c in captions)
    assert caption_of([(7, 1), (5, 0)]) == "digit 7 moves up and down and digit 5 moves left and right"


def test_grammar_clips_move_along_the_captioned_axis(tmp_path):
    cfg = MovingDigits(train_videos=20, test_videos=2, frames=8, size=32, digit_size=12, grammar="single")
    root = make_moving_digits(cfg, tmp_path)
    for i, caption in enumerate(_captions(root / "train")):
        clip = torch.from_numpy(read_video(root / "train" / f"{i:05d}.mp4", gray=True)[..., 0].numpy())
        axis = motion_axis(digit_centres(clip[None].float() / 255))[0, 0]
        assert MOTIONS[int(axis)] in caption


def test_a_users_captioned_folder_counts_uncaptioned_videos_and_warns_about_missing_ones(tmp_path, capsys):
    folder = tmp_path / "videos"
    for name in ("a", "b", "c"):
        write_video(folder / f"{name}.mp4", np.zeros((6, 16, 16, 3), np.uint8))
    (folder / "captions.csv").write_text("file,caption\na.mp4,a red ball\nb.mp4,a blue cube\ngone.mp4,lost\n")
    cfg = load_config(
        VideoConfig,
        None,
        [f"out_dir={tmp_path / 'run'}", f"data.path={folder}", "data.size=16", "data.context=2", "data.predict=2",
         "model.keywords=true"],
    )  # fmt: skip
    adapter = VideoAdapter(cfg)
    ds = adapter.dataset()
    err = capsys.readouterr().err
    assert "gone.mp4" in err and "1 of 3 videos has no caption" in err
    assert {c for _, c in (ds[i] for i in range(len(ds)))} == {"a blue cube", "a red ball", None}
    batch = adapter.collate([ds[0], ds[len(ds) - 1]])
    assert batch.caption is not None and batch.caption.present.tolist() == [True, False]


def test_a_users_captioned_colour_videos_train_the_first_frame_vae_first_and_draw_from_keywords(tmp_path):
    folder = tmp_path / "videos"
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c", "d"):
        write_video(folder / f"{name}.mp4", rng.integers(0, 255, (8, 16, 16, 3), dtype=np.uint8))
    (folder / "captions.csv").write_text("file,caption\na.mp4,a red ball\nb.mp4,a blue cube\nc.mp4,a red cube\n")
    run = tmp_path / "run"
    args = [f"out_dir={run}", f"data.path={folder}", "data.size=16", "data.context=2", "data.predict=2"]
    args += ["data.eval_predict=2", "model.keywords=true", "model.first_frame_steps=3", "train.steps=2"]
    args += ["train.batch_size=2", "model.g_width=4", "model.hidden=8", "model.d_width=4", "model.cond_dim=8"]
    assert recipe.main(args) == 0
    phases = [json.loads(line)["phase"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert phases.count("first_frame") >= 1 and phases[-1] == "adversarial"
    drawn = multigan.load(run).generate(keywords="a blue ball", num_frames=3)  # words seen, pair not
    assert drawn.shape == (1, 3, 3, 16, 16) and torch.isfinite(drawn).all()


# -------------------------------------------------------------------------------- learning


def test_a_toy_trained_here_follows_the_captions_motion_better_than_chance():
    """One seed frame says nothing about the motion; the caption does. After a short L1 training on
    in-memory clips (16x16, one digit), continuations must move along the captioned axis far more
    often than the 50% of a coin."""
    torch.manual_seed(0)
    cfg = MovingDigits(frames=5, size=16, digit_size=6, grammar="single")
    sprites = np.zeros((10, 6, 6), np.float32)
    sprites[:, 1:5, 1:5] = 1.0  # a blob per digit: motion is what this toy is about
    labels = np.arange(10)
    rng = np.random.default_rng(0)
    pairs = [[(int(rng.integers(10)), int(rng.integers(2)))] for _ in range(256)]
    clips = torch.stack([torch.from_numpy(captioned_clip(sprites, labels, p, cfg, rng)) for p in pairs])
    clips = clips.float().div(127.5).sub(1)[:, :, None]  # (n, 5, 1, 16, 16) in [-1, 1]
    vocab = CaptionVocabulary.fit(caption_of(p) for p in pairs)
    tokens = vocab.encode([caption_of(p) for p in pairs])
    model_cfg = VideoModelConfig(core="gru", g_width=4, hidden=16, z_clip=0, z_frame=0, keywords=True, cond_dim=16)
    G = VideoGenerator(model_cfg, 1, vocab.size, 16)
    opt = torch.optim.Adam(G.parameters(), lr=3e-3)
    train, test = slice(0, 192), slice(192, 256)
    for _ in range(120):
        rows = torch.randint(192, (32,))
        pred = G(clips[train][rows, :1], 4, caption=tokens.index(rows))
        loss = (pred - clips[train][rows, 1:]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = G(clips[test][:, :1], 4, caption=tokens.index(torch.arange(192, 256)))
    frames = torch.cat([clips[test][:, :1], pred], 1)[:, :, 0].add(1).div(2).clamp(0, 1)
    axes = motion_axis(digit_centres(torch.where(frames < 0.25, 0.0, frames)))[:, 0]
    truth = torch.tensor([p[0][1] for p in pairs[192:]])
    accuracy = (axes == truth).float().mean().item()
    assert accuracy >= 0.8, accuracy


def test_keyword_losses_are_finite_and_train_the_right_parts(tmp_path):
    cfg = load_config(VideoConfig, TINY, [f"out_dir={tmp_path / 'run'}", f"data.cache_dir={tmp_path}"])
    adapter = VideoAdapter(cfg)
    nets = adapter.build_models()
    G, D = nets.G, nets.D
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(4)]), torch.device("cpu"))
    d_out = adapter.discriminator_loss(G, D, batch, regularize=False)
    assert torch.isfinite(d_out.loss) and {"d_video_drawn", "d_video_mismatch", "d_image_mismatch"} <= set(d_out.logs)
    d_out.loss.backward()
    assert all(p.grad is None for p in G.parameters())  # D's step never reaches G
    assert D.condition.embed.weight.grad.abs().sum() > 0  # D learns to read captions
    D.zero_grad()
    g_out = adapter.generator_loss(G, D, batch)
    assert torch.isfinite(g_out.loss) and "g_video_drawn" in g_out.logs
    g_out.loss.backward()
    assert G.first_frame.fc.weight.grad.abs().sum() > 0  # the drawn clips train the first-frame generator
    assert G.first_frame_condition.embed.weight.grad.abs().sum() > 0  # the first frame's own caption encoder
    # the tiny preset's first frames are a VAE's: the redraw and its KL train the encoder too
    assert {"g_first_bce", "g_first_kl"} <= set(g_out.logs) and g_out.logs["g_first_kl"] >= 0
    assert G.first_frame_encoder.fc.weight.grad.abs().sum() > 0
    G.zero_grad()
    first = adapter.first_frame_loss(G, D, batch)  # the pre-training phase: the VAE and nothing else
    assert torch.isfinite(first.loss) and set(first.logs) == {"g_first_bce", "g_first_kl"}
    first.loss.backward()
    assert G.first_frame_encoder.fc.weight.grad.abs().sum() > 0 and G.first_frame.fc.weight.grad.abs().sum() > 0
    core = G.gru if G.simvp is None else G.simvp
    assert all(p.grad is None for p in core.parameters())


@pytest.mark.parametrize("word_dropout", [0.0, 0.999])
def test_the_first_frame_trains_on_captions_that_lose_words(tmp_path, word_dropout):
    """model.first_frame_word_dropout reaches the first-frame VAE's loss: with (nearly) every word
    hidden its caption encoder's word embeddings learn nothing."""
    overrides = [
        f"out_dir={tmp_path / 'run'}",
        f"data.cache_dir={tmp_path}",
        f"model.first_frame_word_dropout={word_dropout}",
    ]
    adapter = VideoAdapter(load_config(VideoConfig, TINY, overrides))
    G = adapter.build_models().G
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(4)]), torch.device("cpu"))
    torch.manual_seed(0)
    adapter.first_frame_loss(G, None, batch).loss.backward()
    words = G.first_frame_condition.embed.weight.grad
    assert (words is not None and words.abs().sum() > 0) == (word_dropout == 0.0)
    with pytest.raises(ConfigError, match=r"model.first_frame_word_dropout: must be in \[0, 1\), got 1.0"):
        VideoModelConfig(keywords=True, first_frame_word_dropout=1.0)


def test_drawn_clips_can_train_the_continuation_without_the_first_frame():
    vocabulary = CaptionVocabulary.fit(["square one", "square two"])
    caption = vocabulary.encode(["square one", "square two"])
    cfg = VideoModelConfig(keywords=True, core="gru", g_width=4, hidden=8, cond_dim=8, first_frame="vae")
    G = VideoGenerator(cfg, 1, vocabulary.size, frame_size=16, context=1)
    for first_frame_grad in (True, False):
        G.zero_grad(set_to_none=True)
        clips = G.from_caption(
            caption, 3, generator=torch.Generator().manual_seed(0), first_frame_grad=first_frame_grad
        )
        clips.square().mean().backward()
        assert G.gru.gates.weight.grad.abs().sum() > 0  # the continuation learns from drawn clips either way
        first_grad = G.first_frame.fc.weight.grad
        assert (first_grad is not None and first_grad.abs().sum() > 0) == first_frame_grad


def test_a_gan_first_frame_has_no_encoder_and_no_redraw_term(tmp_path):
    cfg = load_config(
        VideoConfig,
        TINY,
        [
            f"out_dir={tmp_path / 'run'}",
            f"data.cache_dir={tmp_path}",
            "model.first_frame=gan",
            "model.first_frame_steps=0",
        ],
    )
    adapter = VideoAdapter(cfg)
    nets = adapter.build_models()
    G, D = nets.G, nets.D
    assert G.first_frame_encoder is None
    ds = adapter.dataset()
    batch = adapter.to_device(adapter.collate([ds[i] for i in range(4)]), torch.device("cpu"))
    logs = adapter.generator_loss(G, D, batch).logs
    assert "g_video_drawn" in logs and not any(key.startswith("g_first") for key in logs)
    with pytest.raises(ValueError, match="first_frame"):
        G.redraw_first_frame(batch.frames[:, 0], batch.caption)
    with pytest.raises(ConfigError, match="model.first_frame"):
        VideoModelConfig(first_frame="diffusion")
    with pytest.raises(ConfigError, match="model.first_frame_steps"):
        VideoModelConfig(keywords=True, first_frame="gan", first_frame_steps=10)


def test_a_keywords_run_saved_before_first_frame_existed_loads_as_the_gan_it_was(tmp_path):
    run = tmp_path / "old"
    args = [f"out_dir={run}", f"data.cache_dir={tmp_path}", "train.steps=1", "model.first_frame_steps=0"]
    assert recipe.main(["--config", str(TINY), *args, "model.first_frame=gan"]) == 0
    config = run / "config.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if "first_frame:" not in line))  # as saved before the key
    assert load_folder_config(run, VideoConfig).model.first_frame == "gan"
    out = tmp_path / "k.mp4"
    keywords = f"{_known_digit(run)} up and down"
    args_generate = ["generate", "--run", str(run), "--keywords", keywords, "--num-frames", "4", "--out", str(out)]
    assert recipe.main(args_generate) == 0
    assert read_video(out).shape[0] == 4
    new = tmp_path / "new"  # a saved key is kept, whatever the default
    assert recipe.main(["--config", str(TINY), *args[1:], f"out_dir={new}"]) == 0
    assert load_folder_config(new, VideoConfig).model.first_frame == "vae"


def test_a_keywords_run_saved_before_first_frame_noise_and_caption_bag_loads_as_it_trained(tmp_path):
    run = tmp_path / "old"
    args = [f"out_dir={run}", f"data.cache_dir={tmp_path}", "train.steps=1"]
    old = ["model.first_frame_noise=32", "model.caption_bag=false", "model.first_frame_caption=shared"]
    assert recipe.main(["--config", str(TINY), *args, *old]) == 0
    config = run / "config.yaml"
    lines = config.read_text().splitlines(keepends=True)
    old_keys = ("first_frame_noise:", "caption_bag:", "first_frame_caption:")
    config.write_text("".join(line for line in lines if not line.strip().startswith(old_keys)))  # as saved before
    model = load_folder_config(run, VideoConfig).model
    assert (model.first_frame_noise, model.caption_bag, model.first_frame_caption) == (32, False, "shared")
    default = VideoModelConfig()
    # so the load above did not get the defaults
    assert (default.first_frame_noise, default.caption_bag, default.first_frame_caption) == (4, True, "own")
    out = tmp_path / "k.mp4"
    keywords = f"{_known_digit(run)} up and down"
    args_generate = ["generate", "--run", str(run), "--keywords", keywords, "--num-frames", "3", "--out", str(out)]
    assert recipe.main(args_generate) == 0
    assert read_video(out).shape[0] == 3
    with pytest.raises(ConfigError, match="model.first_frame_noise"):
        VideoModelConfig(first_frame_noise=0)


def test_resuming_a_run_whose_checkpoint_no_longer_fits_names_the_setting_it_was_trained_with(tmp_path, capsys):
    run = tmp_path / "old"
    args = [f"out_dir={run}", f"data.cache_dir={tmp_path}", "model.first_frame_noise=32"]
    assert recipe.main(["--config", str(TINY), *args, "train.steps=1"]) == 0
    config = run / "config.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if "first_frame_noise:" not in line))  # as saved before the key
    newest = checkpoint_dirs(run / "checkpoints")[-1].name
    capsys.readouterr()
    again = ["--config", str(TINY), f"out_dir={run}", f"data.cache_dir={tmp_path}", "train.steps=2"]
    assert recipe.main(again) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "does not match the model" in err
    assert "was trained with model.first_frame_noise=32:" in err  # the key the old run lacks, read as it trained
    assert checkpoint_dirs(run / "checkpoints")[-1].name == newest  # nothing lost
    config_text = config.read_text()
    config.write_text(config_text + "retired_key: 1\n")  # a config this version cannot read: the plain error
    assert recipe.main(again) == 2
    err = capsys.readouterr().err.strip()
    assert "does not match the model" in err and "was trained with" not in err
    config.write_text(config_text)
    assert recipe.main([*again, "model.first_frame_noise=32"]) == 0
    assert f"Resumed from {run / 'checkpoints' / newest}" in capsys.readouterr().out
    assert checkpoint_dirs(run / "checkpoints")[-1].name > newest


@pytest.mark.parametrize("sprites", [0, 1])
def test_the_vae_first_frame_learns_to_redraw_frames_and_its_prior_draws_them(sprites):
    """A toy: four 16x16 frames, each a bright square at its own place, captioned by which one it
    is. 150 Adam steps on the redraw + KL alone bring the redraw error far down, and frames drawn
    from the prior with a caption land on that caption's square (the caption carries it; the KL
    keeps z from having to). A sprite generator must learn the place with its "where" MLP."""
    torch.manual_seed(0)
    frames = -torch.ones(4, 1, 16, 16)
    corners = [(0, 0), (0, 8), (8, 0), (8, 8)]
    for i, (y, x) in enumerate(corners):
        frames[i, :, y : y + 8, x : x + 8] = 1.0
    vocabulary = CaptionVocabulary.fit([f"square {w}" for w in ("one", "two", "three", "four")])
    caption = vocabulary.encode([f"square {w}" for w in ("one", "two", "three", "four")])
    cfg = VideoModelConfig(
        keywords=True, core="gru", g_width=4, hidden=8, cond_dim=16, first_frame="vae", first_frame_sprites=sprites
    )
    G = VideoGenerator(cfg, 1, vocabulary.size, frame_size=16, context=1)
    opt = torch.optim.Adam(G.parameters(), lr=3e-3)
    errors = []
    for _ in range(150):
        redrawn, kl = G.redraw_first_frame(frames, caption)
        error = (redrawn - frames).abs().mean()
        opt.zero_grad()
        (error + 0.1 * kl).backward()
        opt.step()
        errors.append(error.item())
    assert errors[-1] < 0.2 * errors[0], (errors[0], errors[-1])
    with torch.no_grad():
        drawn = G.from_caption(caption.repeat(8), 1, generator=torch.Generator().manual_seed(1))[:, 0]
    brightness = torch.stack([drawn[:, 0, y : y + 8, x : x + 8].mean((1, 2)) for y, x in corners], 1)
    assert brightness.argmax(1).tolist() == [i // 8 for i in range(32)]  # caption.repeat: each row 8 times


@pytest.mark.parametrize("sprites", [1, 2])
def test_a_sprite_first_frame_is_black_outside_its_sprites_and_asks_for_a_size_that_halves(sprites):
    torch.manual_seed(0)
    cfg = VideoModelConfig(keywords=True, g_width=4, cond_dim=8, first_frame_noise=4, first_frame_sprites=sprites)
    G = FirstFrameGenerator(cfg, 1, 32)
    torch.nn.init.normal_(G.where[-1].weight, std=3.0)  # places far from the centre too
    with torch.no_grad():
        frames = G(torch.randn(64, 4), torch.randn(64, 8))
    assert frames.shape == (64, 1, 32, 32) and frames.min() >= -1 and frames.max() <= 1
    lit = (frames > -1).flatten(1)  # bilinear pasting may touch one pixel row and column more
    assert lit.any(1).all() and lit.sum(1).max() <= sprites * 17 * 17
    assert (lit.sum(1).max() > 17 * 17) == (sprites == 2)  # two sprites light up more than one can
    rows, cols = (frames > -1)[:, 0].any(2), (frames > -1)[:, 0].any(1)
    assert rows.float().argmax(1).unique().numel() > 4 and cols.float().argmax(1).unique().numel() > 4  # placed apart
    with pytest.raises(ValueError, match="multiple of 16"):
        FirstFrameGenerator(cfg, 1, 24)


def test_sprite_settings_that_cannot_work_are_one_line_errors():
    with pytest.raises(ConfigError, match="data.size must be a multiple of 16"):
        load_config(VideoConfig, TINY, ["model.first_frame_sprites=1", "data.size=24"])
    with pytest.raises(ConfigError, match="model.first_frame_sprites: only with model.keywords=true"):
        VideoModelConfig(first_frame_sprites=1)
    with pytest.raises(ConfigError, match="must be a multiple of 2, got 3"):
        VideoModelConfig(keywords=True, first_frame_noise=3, first_frame_sprites=2)
    with pytest.raises(ConfigError, match="model.first_frame_sprites"):
        VideoModelConfig(keywords=True, first_frame_sprites=-1)


@pytest.mark.parametrize("first_frame_caption", ["shared", "own"])
def test_an_own_first_frame_caption_encoder_is_trained_by_the_first_frame_alone(first_frame_caption):
    """With model.first_frame_caption="own" the continuation's losses leave the first frame's
    caption encoder untouched and the first frame's redraw leaves the continuation's; "shared"
    routes both into one encoder."""
    torch.manual_seed(0)
    vocabulary = CaptionVocabulary.fit(["the digit 1 moves up and down", "the digit 2 moves left and right"])
    caption = vocabulary.encode(["the digit 1 moves up and down", "the digit 2 moves left and right"])
    cfg = VideoModelConfig(
        keywords=True,
        core="gru",
        g_width=4,
        hidden=8,
        cond_dim=8,
        first_frame_sprites=1,
        first_frame_caption=first_frame_caption,
    )
    G = VideoGenerator(cfg, 1, vocabulary.size, frame_size=16, context=1)
    own = G.first_frame_condition
    assert (own is not None) == (first_frame_caption == "own") and G.film is not None
    torch.nn.init.normal_(G.film.linear.weight)  # FiLM starts as the identity, which passes no gradient to captions

    def grads(module: torch.nn.Module | None) -> bool:
        return module is not None and any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())

    G(torch.rand(2, 1, 1, 16, 16) * 2 - 1, 3, caption=caption).square().mean().backward()
    assert grads(G.condition) and not grads(own)
    G.zero_grad(set_to_none=True)
    redrawn, kl = G.redraw_first_frame(torch.rand(2, 1, 16, 16) * 2 - 1, caption)
    (redrawn.square().mean() + kl).backward()
    assert grads(G.condition) == (first_frame_caption == "shared") and grads(own) == (first_frame_caption == "own")
    with torch.no_grad():
        before = G.from_caption(caption, 1, generator=torch.Generator().manual_seed(3))
        assert G.condition is not None
        for p in G.condition.parameters():
            p.add_(1.0)
        after = G.from_caption(caption, 1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(before, after) == (first_frame_caption == "own")
    shared = VideoModelConfig(**{**cfg.__dict__, "first_frame_caption": "shared"})
    n_params = lambda D: sum(p.numel() for p in D.parameters())
    assert n_params(VideoDiscriminator(cfg, 1, vocabulary.size)) == n_params(
        VideoDiscriminator(shared, 1, vocabulary.size)
    )
    with pytest.raises(ConfigError, match="model.first_frame_caption: must be one of 'shared', 'own', got 'mine'"):
        VideoModelConfig(keywords=True, first_frame_caption="mine")


def test_the_two_digit_grammar_trains_and_is_scored_per_digit(tmp_path):
    run = tmp_path / "two"
    args = ["--config", str(TINY), f"out_dir={run}", f"data.cache_dir={tmp_path}", "data.grammar=two", "data.size=32"]
    assert recipe.main([*args, "train.steps=2"]) == 0
    report = json.loads((run / "evaluation.json").read_text())["captions"]
    assert report["grammar"] == "two" and report["chance"] == pytest.approx(0.05**2)
    real = report["rows"]["real"]
    assert sum(r["clips"] for r in real.values()) == 20  # every held-out clip names two digits
