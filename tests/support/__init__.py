"""Helpers shared by the tests (not tests themselves): data builders, replay servers, paths."""
