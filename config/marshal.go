package config

import (
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// WriteYAML writes c as a YAML document that Parse reads back into an equal
// Config. Every field is written, defaults included, and secrets are
// written as they are, so treat the output like the file it came from.
func (c *Config) WriteYAML(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	return enc.Close()
}
