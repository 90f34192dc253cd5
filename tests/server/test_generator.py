"""The default generator: a real little web app, about the prompt, the same every time."""

from __future__ import annotations

import asyncio

import pytest

from pf_server.generator import GeneratedFile, TemplateGenerator, subject_of


@pytest.mark.parametrize(("prompt", "subject"), [
    ("A landing page for a neighbourhood bakery", "neighbourhood bakery"),
    ("Build me a to-do list for a climbing club", "climbing club"),
    ("a notes board about birds", "birds"),
    ("Dogs!", "Dogs"),
])
def test_the_subject_is_what_the_prompt_is_about(prompt: str, subject: str) -> None:
    assert subject_of(prompt) == subject


def test_an_app_has_linked_html_css_and_js_about_its_subject() -> None:
    files = {f.path: f.content for f in TemplateGenerator().render("A landing page for a bakery")}
    assert {"index.html", "styles.css", "app.js"} <= set(files)
    html = files["index.html"]
    assert html.startswith("<!doctype html>")
    assert 'href="styles.css"' in html and 'src="app.js"' in html
    assert "<title>Bakery</title>" in html
    assert "getElementById(\"cta\")" in files["app.js"] and 'id="cta"' in html


def test_a_to_do_prompt_makes_a_working_list_app() -> None:
    files = {f.path: f.content for f in TemplateGenerator().render("A to-do list for a choir")}
    assert 'id="add"' in files["index.html"] and "localStorage" in files["app.js"]


def test_the_same_prompt_gives_the_same_files_and_another_prompt_other_ones() -> None:
    gen = TemplateGenerator()
    assert gen.render("a bakery") == gen.render("a bakery")
    assert gen.render("a bakery") != gen.render("a florist")


def test_markup_in_a_prompt_is_escaped_everywhere() -> None:
    files = {f.path: f.content for f in TemplateGenerator().render(
        'a page for <script>alert("x")</script> & co')}
    assert "<script>alert" not in files["index.html"]
    assert "&lt;script&gt;" in files["index.html"]
    assert "</script>" not in files["app.js"]


def test_files_stream_in_order_with_the_pace_between_them() -> None:
    async def collect() -> list[GeneratedFile]:
        return [f async for f in TemplateGenerator(pace=0.001).files("a bakery")]

    assert asyncio.run(collect()) == TemplateGenerator().render("a bakery")
