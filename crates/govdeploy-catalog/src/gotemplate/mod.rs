//! Placeholder: the Go-template subset evaluator is being written.
