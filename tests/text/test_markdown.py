"""Model answers are rendered as Markdown without any way to run script or inject markup."""

from __future__ import annotations

from rathaus.text.markdown import to_html


def test_markdown_is_rendered() -> None:
    html = to_html(
        "## Unterlagen\n\n- **Ausweis**\n- Meldeschein\n\n| Gebühr | Betrag |\n|---|---|\n| A | 5 € |"
    )
    assert "<h2>Unterlagen</h2>" in html and "<strong>Ausweis</strong>" in html and "<table>" in html


def test_html_and_script_links_are_neutralised() -> None:
    html = to_html(
        '<script>alert(1)</script> <img src=x onerror="alert(1)"> [Klick](javascript:alert(1)) '
        "[Amt](https://www.musterstadt.example/amt) <a href='https://evil.example'>x</a>"
    )
    assert "<script" not in html and "<img" not in html and "<a href='https://evil" not in html
    assert "javascript:" not in html.replace("[Klick](javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert '<a href="https://www.musterstadt.example/amt" rel="noopener noreferrer nofollow">Amt</a>' in html
