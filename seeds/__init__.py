"""Seed data for referral-graph: a believable demo network and a synthetic generator for scale.

Both produce :class:`graph.bulk.Dataset` objects (plain row dicts, times already store text) that
``graph.bulk.load`` writes; see :func:`seeds.demo.demo_dataset` and
:func:`seeds.synthetic.synthetic_dataset`.
"""
