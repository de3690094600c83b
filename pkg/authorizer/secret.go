package authorizer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/portcullis-dev/portcullis/api/v1alpha1"
)

// ResolveSecret returns the value of a configured secret: given inline, read from an environment
// variable (which must be set and non-empty), or read from a file (trailing newlines trimmed, as
// files written by echo or editors end with one; the rest must not be empty). getenv and readFile
// default to os.Getenv and os.ReadFile when nil. Errors name the variable or file, never the value.
func ResolveSecret(v v1alpha1.SecretValue, getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	from := v.ValueFrom
	switch {
	case from == nil && v.Value == "":
		return "", errors.New("secret has neither value nor valueFrom")
	case from == nil:
		return v.Value, nil
	case v.Value != "":
		return "", errors.New("secret has both value and valueFrom")
	case from.Env != "" && from.File != "":
		return "", errors.New("secret valueFrom has both env and file")
	case from.Env != "":
		value := getenv(from.Env)
		if value == "" {
			return "", fmt.Errorf("secret environment variable %s is not set or empty", from.Env)
		}
		return value, nil
	case from.File != "":
		return readSecretFile(from.File, readFile)
	default:
		return "", errors.New("secret valueFrom names neither env nor file")
	}
}

func readSecretFile(path string, readFile func(string) ([]byte, error)) (string, error) {
	data, err := readFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, err)
	}
	value := strings.TrimRight(string(data), "\r\n")
	if value == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return value, nil
}
