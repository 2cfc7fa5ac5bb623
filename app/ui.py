"""The page: ``demo``, a gr.Blocks built from the task registry (importing it launches nothing).

Choose -> Inspect Y' -> Sample Y' -> Render Y -> Compare, as a gr.Walkthrough whose steps can be
visited in any order, plus a Train tab. Which inputs and outputs are shown follows the chosen
task's ``x_kind`` and ``y_kind``; every event has an ``api_name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app import handlers, limits, training
from app.views import Y_KINDS
from regenlab.core import task_names, task_spec

STEPS = {
    1: "Choose",
    2: "Inspect Y'",
    3: "Sample Y' ~ P(Y'|X)",
    4: "Render Y ~ P(Y|Y')",
    5: "Compare",
}

INTRO = """# RegenLab — regeneration learning, X → Y' → Y
Instead of learning one hard mapping X → Y, **regeneration learning** picks an intermediate
representation Y' of Y (a *conversion* Y → Y'), learns a **prior** Y' ~ P(Y'|X) and a **renderer**
Y ~ P(Y|Y'). Walk through the five steps below for any task of the registry; the **Train** tab
trains any stage into your own checkpoint set."""


# the browser's own <audio> player (seekable, keyboard-accessible; the waveform player draws its
# own): the spectrogram next to it already shows the signal
NATIVE_PLAYER = gr.WaveformOptions(show_recording_waveform=False)


@dataclass
class YView:
    """One place a Y is shown: an image, an audio player or text, by the task's y_kind."""

    image: gr.Image
    audio: gr.Audio
    text: gr.Textbox

    @classmethod
    def make(cls, label: str, elem_id: str) -> YView:
        return cls(
            gr.Image(label=label, type="numpy", format="png", interactive=False, visible=False,
                     elem_id=f"{elem_id}-image", height=260, buttons=["download", "fullscreen"]),
            gr.Audio(label=label, type="numpy", interactive=False, visible=False, elem_id=f"{elem_id}-audio",
                     waveform_options=NATIVE_PLAYER),
            gr.Textbox(label=label, interactive=False, visible=False, lines=4, elem_id=f"{elem_id}-text"),
        )  # fmt: skip

    @property
    def components(self) -> list[gr.components.Component]:
        return [self.image, self.audio, self.text]

    def visibility(self, y_kind: str) -> list[dict[str, Any]]:
        return [gr.update(visible=(k == y_kind)) for k in Y_KINDS]


def _goto(k: int):
    return lambda: gr.Walkthrough(selected=k)


def build() -> gr.Blocks:
    names = task_names()
    first = task_spec(names[0])
    with gr.Blocks(title="RegenLab", delete_cache=(3600, 7200)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            task_dd = gr.Dropdown(
                names, value=names[0], label="Task", allow_custom_value=True, elem_id="task"
            )
            dataset_dd = gr.Dropdown(list(first.datasets), value=first.datasets[0], label="Data set",
                                     allow_custom_value=True, elem_id="dataset")  # fmt: skip
            ckpt = gr.Radio([("shipped", "shipped"), ("your own", "user")], value="shipped", label="Checkpoints",
                            elem_id="checkpoints")  # fmt: skip
        status_md = gr.Markdown(elem_id="status")

        with gr.Tabs():
            with gr.Tab("Walkthrough", id="walk-tab"):
                with gr.Walkthrough(selected=1, elem_id="walk") as walk:
                    # ---------------------------------------------------------------- 1 Choose
                    with gr.Step(STEPS[1], id=1, elem_id="step1"):
                        conv_dd = gr.Dropdown([], label="Conversion Y → Y' (what Y' is)", allow_custom_value=True,
                                              elem_id="conversion")  # fmt: skip
                        card_md = gr.Markdown(elem_id="card")
                        next1 = gr.Button("Next: inspect Y' →", variant="primary", elem_id="next1")
                    # ---------------------------------------------------------------- 2 Inspect
                    with gr.Step(STEPS[2], id=2, elem_id="step2"):
                        gr.Markdown(
                            "Encode a Y to its Y' and render it back: what survives, at what size."
                        )
                        with gr.Row():
                            with gr.Column():
                                index = gr.Slider(0, handlers.EXAMPLE_POOL - 1, value=0, step=1,
                                                  label="Test example", elem_id="example-index")  # fmt: skip
                                ex_btn = gr.Button(
                                    "Show this dataset example", elem_id="show-example"
                                )
                            with gr.Column():
                                y_file = gr.File(label=f"…or upload your own image (≤ {limits.MAX_IMAGE_SIDE} px a side, "
                                                 f"≤ {limits.MAX_UPLOAD_BYTES // 2**20} MB)", file_types=["image"],
                                                 type="filepath", visible=False, elem_id="y-file")  # fmt: skip
                                y_audio = gr.Audio(label=f"…or upload / record audio (≤ {limits.MAX_AUDIO_SECONDS:.0f} s)",
                                                   sources=["upload", "microphone"], type="filepath", format=None,
                                                   visible=False, elem_id="y-audio")  # fmt: skip
                                y_text = gr.Textbox(label=f"…or type your own text (≤ {limits.MAX_TEXT_CHARS} characters)",
                                                    max_length=limits.MAX_TEXT_CHARS, visible=False, elem_id="y-text")  # fmt: skip
                                own_btn = gr.Button("Use my input", elem_id="use-own")
                        with gr.Row(equal_height=False):
                            with gr.Column():
                                y_in = YView.make("Y", "inspect-y")
                            with gr.Column(scale=2):
                                yp_plot = gr.Plot(label="Y'", elem_id="inspect-yprime")
                            with gr.Column():
                                y_rec = YView.make("Y re-rendered from the true Y'", "inspect-rec")
                        inspect_md = gr.Markdown(elem_id="inspect-stats")
                        with gr.Row():
                            back2 = gr.Button("← Choose", elem_id="back2")
                            next2 = gr.Button(
                                "Next: sample Y' →", variant="primary", elem_id="next2"
                            )
                    # ---------------------------------------------------------------- 3 Sample
                    with gr.Step(STEPS[3], id=3, elem_id="step3"):
                        with gr.Row():
                            x_class = gr.Dropdown([], label="X: class", allow_custom_value=True, visible=False,
                                                  elem_id="x-class")  # fmt: skip
                            x_text = gr.Textbox(label=f"X: text (≤ {limits.MAX_TEXT_CHARS} characters)",
                                                max_length=limits.MAX_TEXT_CHARS, visible=False, elem_id="x-text")  # fmt: skip
                            x_audio = gr.Audio(label=f"X: audio (≤ {limits.MAX_AUDIO_SECONDS:.0f} s)",
                                               sources=["upload", "microphone"], type="filepath", format=None,
                                               visible=False, elem_id="x-audio")  # fmt: skip
                        with gr.Row():
                            n = gr.Slider(
                                1,
                                limits.MAX_SAMPLES,
                                value=4,
                                step=1,
                                label="number of samples",
                                elem_id="n",
                            )
                            temperature = gr.Slider(0.0, limits.MAX_TEMPERATURE, value=1.0, step=0.05,
                                                    label="temperature", elem_id="temperature")  # fmt: skip
                            seed = gr.Number(
                                0,
                                precision=None,  # the handler checks it (NaN included)
                                step=1,
                                minimum=0,
                                maximum=limits.MAX_SEED,
                                label="seed",
                                elem_id="seed",
                            )
                        sample_btn = gr.Button("Sample Y'", variant="primary", elem_id="sample")
                        samples_plot = gr.Plot(label="Y' samples, side by side", elem_id="samples")
                        sample_md = gr.Markdown(elem_id="sample-stats")
                        with gr.Row():
                            back3 = gr.Button("← Inspect", elem_id="back3")
                            next3 = gr.Button(
                                "Next: render Y →", variant="primary", elem_id="next3"
                            )
                    # ---------------------------------------------------------------- 4 Render
                    with gr.Step(STEPS[4], id=4, elem_id="step4"):
                        renderer = gr.Dropdown(
                            [], label="Renderer", allow_custom_value=True, elem_id="renderer"
                        )
                        render_btn = gr.Button("Render Y", variant="primary", elem_id="render")
                        y_out = YView.make("Y rendered from the sampled Y'", "render-y")
                        with gr.Row():
                            y_download = gr.File(
                                label="Download Y", interactive=False, elem_id="download-y"
                            )
                            trace_download = gr.File(label="Download the trace (JSON)", interactive=False,
                                                     elem_id="download-trace")  # fmt: skip
                        render_md = gr.Markdown(elem_id="render-stats")
                        with gr.Row():
                            back4 = gr.Button("← Sample", elem_id="back4")
                            next4 = gr.Button("Next: compare →", variant="primary", elem_id="next4")
                    # ---------------------------------------------------------------- 5 Compare
                    with gr.Step(STEPS[5], id=5, elem_id="step5"):
                        compare_btn = gr.Button("Compare regeneration with direct", variant="primary",
                                                elem_id="compare")  # fmt: skip
                        with gr.Row(equal_height=False):
                            with gr.Column():
                                y_regen = YView.make("Regeneration: X → Y' → Y", "compare-regen")
                            with gr.Column():
                                y_direct = YView.make("Direct: X → Y", "compare-direct")
                        metrics_df = gr.Dataframe(
                            label="Metrics (the task's own)", interactive=False, elem_id="metrics"
                        )
                        with gr.Row(equal_height=False):
                            with gr.Column():
                                y_true = YView.make("Real Y for this X", "compare-true")
                            with gr.Column():
                                y_from_true = YView.make(
                                    "Y rendered from the true Y'", "compare-from-true"
                                )
                        compare_md = gr.Markdown(elem_id="compare-notes")
                        compare_json = gr.File(label="Download the comparison (JSON)", interactive=False,
                                               elem_id="download-compare")  # fmt: skip
                        back5 = gr.Button("← Render", elem_id="back5")

            with gr.Tab("Train", id="train-tab"):
                gr.Markdown("Train one stage of the chosen task from scratch into **your own** checkpoint set "
                            "(under your cache folder; the shipped checkpoints are never written). Stages your "
                            "set lacks are first copied from the shipped set, so your set always works as a whole.")  # fmt: skip
                with gr.Row():
                    stage_dd = gr.Dropdown(training.stages(names[0]), label="Stage", allow_custom_value=True,
                                           elem_id="stage")  # fmt: skip
                    preset = gr.Radio(
                        list(training.PRESETS_OFFERED),
                        value="lab",
                        label="Preset",
                        elem_id="preset",
                    )
                    resume = gr.Checkbox(False, label="resume an interrupted run", elem_id="resume")
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary", elem_id="train")
                    cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
                loss_plot = gr.Plot(label="training loss", elem_id="loss")
                train_md = gr.Markdown(elem_id="train-status")

        views = [y_in, y_rec, y_out, y_regen, y_direct, y_true, y_from_true]
        x_inputs = [x_class, x_text, x_audio]
        y_inputs = [y_file, y_audio, y_text]
        top = [task_dd, dataset_dd, ckpt, conv_dd]

        # ------------------------------------------------------------------------ events
        def on_choose(task, dataset, checkpoints, conversion, stage, text=None):
            try:
                info = handlers.choose(task, dataset, checkpoints, conversion)
            except handlers.BadInput as err:
                if checkpoints != "user":
                    raise gr.Error(str(err)) from err
                gr.Warning(f"{err} Falling back to the shipped checkpoints.")
                info = handlers.choose(task, dataset, "shipped", conversion)
                checkpoints = "shipped"
            except (ValueError, FileNotFoundError) as err:
                raise gr.Error(str(err)) from err
            classes, xk, yk = info["classes"], info["x_kind"], info["y_kind"]
            stages = training.stages(info["task"])
            vis = []
            for v in views:
                vis += v.visibility(yk)
            rend = info["renderers"]
            return [
                gr.update(choices=info["datasets"], value=info["dataset"]),
                gr.update(value=checkpoints),
                gr.update(choices=info["conversions"], value=info["conversion"]),
                info["card"],
                info["status"],
                gr.update(
                    choices=classes, value=classes[0] if classes else None, visible=xk == "class"
                ),
                gr.update(visible=xk == "text", value=text or info["example_text"]),
                gr.update(visible=xk == "audio"),
                gr.update(visible=yk == "image"),
                gr.update(visible=yk == "audio"),
                gr.update(visible=yk == "text"),
                gr.update(choices=rend, value=rend[0] if rend else None, interactive=len(rend) > 1),
                gr.update(maximum=info["examples"] - 1),
                gr.update(
                    choices=stages,
                    value=stage if stage in stages else (stages[0] if stages else None),
                ),
                training.set_status(info["task"], info["dataset"]),
                *vis,
            ]

        choose_out = [dataset_dd, ckpt, conv_dd, card_md, status_md, *x_inputs, *y_inputs, renderer, index, stage_dd,
                      train_md, *[c for v in views for c in v.components]]  # fmt: skip
        gr.on([demo.load, task_dd.input, dataset_dd.input, ckpt.input, conv_dd.input], on_choose,
              [*top, stage_dd, x_text], choose_out, api_name="choose")  # fmt: skip

        for k, triggers in {1: [back2.click], 2: [next1.click, back3.click], 3: [next2.click, back4.click],
                            4: [next3.click, back5.click], 5: [next4.click]}.items():  # fmt: skip
            gr.on(triggers, _goto(k), None, walk, api_name=f"goto_step{k}", queue=False)

        common = [task_dd, dataset_dd, ckpt, conv_dd]
        inspect_out = [*y_in.components, yp_plot, *y_rec.components, inspect_md]
        gr.on([ex_btn.click, next1.click], handlers.inspect_example, [*common, index], inspect_out,
              api_name="inspect_example")  # fmt: skip
        own_btn.click(
            handlers.inspect_upload, [*common, *y_inputs], inspect_out, api_name="inspect_upload"
        )
        sampling = [*common, *x_inputs, n, temperature, seed]
        gr.on(
            [sample_btn.click, next2.click],
            handlers.sample,
            sampling,
            [samples_plot, sample_md],
            api_name="sample",
        )
        gr.on([render_btn.click, next3.click], handlers.render, [*sampling, renderer],
              [*y_out.components, y_download, trace_download, render_md], api_name="render")  # fmt: skip
        gr.on([compare_btn.click, next4.click], handlers.compare, sampling,
              [*y_regen.components, *y_direct.components, *y_true.components, *y_from_true.components,
               metrics_df, compare_md, compare_json], api_name="compare")  # fmt: skip

        train_btn.click(training.train, [task_dd, dataset_dd, stage_dd, preset, resume], [loss_plot, train_md],
                        api_name="train", concurrency_limit=1, concurrency_id="train")  # fmt: skip
        cancel_btn.click(training.cancel, None, train_md, api_name="cancel_train")
        stage_dd.input(training.status, [task_dd, dataset_dd], train_md, api_name="train_status")
    return demo


demo = build()
