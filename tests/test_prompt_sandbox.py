"""User-editable prompt templates render in Jinja's sandbox: no code runs, output is bounded."""

from __future__ import annotations

import time

import pytest

from lumina import prompts
from lumina.errors import InvalidInputError

# Known escapes from a plain jinja2.Environment, each ending in os/subprocess/file access.
ESCAPES = [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.system('id') }}",
    "{{ namespace.__init__.__globals__['os'].popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ self.__init__.__globals__.__builtins__.open('/etc/passwd').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "{{ request.application.__globals__ }}",
    "{% set x = [].append %}{{ x(1) }}",               # a mutating call (immutable sandbox)
    "{{ {}.update(a=1) }}",
    "{{ 'x'.format.__globals__ }}",
    "{{ ().__class__.__bases__[0].__subclasses__()[0] }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_known_escapes_fail_with_a_clear_message(source, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    # Had any escape run `id`, nothing would show; a marker file proves no command ran either.
    source = source.replace("'id'", f"'touch {marker}'")
    with pytest.raises(InvalidInputError) as exc:
        prompts.check("taxonomy", "answer", source)
    assert "\n" not in str(exc.value)
    assert not marker.exists()


def test_rendering_an_override_from_the_store_stays_sandboxed(tmp_path):
    marker = tmp_path / "ran"
    t = prompts.Template("taxonomy", "answer", 1, "{{ cycler.__init__.__globals__.os.popen('touch %s').read() }}" % marker,
                         override=3)
    with pytest.raises(InvalidInputError, match="not allowed"):
        t.render(difficulty="beginner")
    assert not marker.exists()


@pytest.mark.parametrize("source", [
    "{{ 'x' * 100000000 }}",
    "{{ ['x'] * 100000000 }}",
    "{{ 2 ** 100000 }}",
    "{{ (9 ** 60) ** 60 }}",
    "{% for i in range(1000000) %}x{% endfor %}",
    "{% for i in range(90000) %}{% for j in range(90000) %}{% endfor %}{% endfor %}y",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{{ 'x' | center(1000000000) }}",
    "{{ 'x' | indent(1000000000, true) }}",
    "{{ range(10) | slice(1000000000) | list }}",
    "{% for i in range(9999) %}{{ difficulty * 9999 }}{% endfor %}",
])
def test_runaway_templates_are_stopped_quickly(source):
    start = time.monotonic()
    with pytest.raises(InvalidInputError):
        prompts.check("taxonomy", "answer", source)
    assert time.monotonic() - start < 10


def test_ordinary_templates_still_work():
    src = ("{% for x in examples %}- {{ x | trim | truncate(80) }}\n{% endfor %}"
           "{{ examples | length }} {{ 'a,b' .split(',') | join('+') }} {{ '%s!' | format('hi') }} {{ 3 * 2 }}")
    prompts.check("seeded", "instruction", src)
    out = prompts.Template("seeded", "instruction", 1, src).render(examples=["one", "two"])
    assert out.endswith("2 a+b hi! 6")
    for t in prompts.all_templates():   # every shipped template renders in the sandbox
        prompts.check(t.mode, t.step, t.source)
