"""Runs ncnn models for ferry (PyPI's `ncnn` bindings): `python -m ferry_ncnn JOB.json`."""
