"""Slack listeners: each acks at once and hands slow work to the worker pool."""
