package engine

import (
	"errors"
	"fmt"
)

var errMissingIdentity = errors.New("identity source missing or empty")

var errIdentityInvalid = errors.New("identity does not match identityValidationExpression")

var errIdentityTooLarge = errors.New("identity over 16 KiB")

var errScopes = errors.New("token holds none of the route's authorizationScopes")

func errUnknownAuthorizer(name string) error {
	return fmt.Errorf("context extension names authorizer %q, which is not configured", name)
}
