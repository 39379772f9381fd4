"""Shared vocabulary and small contracts every feature may use."""
