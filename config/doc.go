// Package config reads optgate's YAML configuration file, optgate.yaml,
// into a Config, applies defaults and validates it.
//
// Keys are snake_case. Durations are strings such as "30s" or "1m30s".
// Every field has a default, named at the end of its doc comment, and all
// defaults are set in defaults.go. A value written as ${NAME}, alone or
// inside a longer string, is replaced by the environment variable NAME, so
// secrets can stay out of the file; an unset variable is an error, and
// "$${" stands for a literal "${".
//
// Load and Parse report every problem at once, each with file, line and
// field path:
//
//	optgate.yaml:14: accounts[0].toll_free[1].number: "+1555" is not a valid E.164 number
//
// Unknown keys are errors, with a suggestion when a known key is close.
// Top-level keys that start with "x-" are ignored, so they can hold YAML
// anchors that aliases elsewhere in the file repeat.
// Problems that leave optgate running but something unusable, such as a
// toll-free number without a greeting, are warnings in Config.Warnings.
// Error and warning messages never contain passwords, hashes, tokens or
// Redis URLs.
//
// Loading has no side effects, so a daemon reloads its configuration by
// loading the file again. Default returns the configuration used when no
// file is given: a demo account texting through the built-in SMSC
// simulator, described with DemoAccountID.
package config
