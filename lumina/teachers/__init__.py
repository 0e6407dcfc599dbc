"""Teacher backends behind one protocol. See ``base.py`` for the contract."""

from lumina.teachers.base import ChatRequest, Completion, GenParams, Teacher, cache_key
from lumina.teachers.spec import (
    BACKENDS, BUNDLED_LLM, Backend, TeacherSpec, backend_of, build_teacher, default_student_spec,
    default_teacher_spec, parse_spec, vllm_available,
)

__all__ = [
    "BACKENDS", "BUNDLED_LLM", "Backend", "backend_of", "ChatRequest", "Completion", "GenParams", "Teacher", "TeacherSpec",
    "build_teacher", "cache_key", "default_student_spec", "default_teacher_spec", "parse_spec",
    "vllm_available",
]
