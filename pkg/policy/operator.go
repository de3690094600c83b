package policy

import (
	"fmt"
	"strings"
)

// baseOp is a condition operator without negation, IfExists or set prefix.
type baseOp uint8

const (
	opStringEquals baseOp = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opIPAddress
	opNull
)

type family uint8

const (
	familyString family = iota + 1
	familyNumeric
	familyDate
	familyBool
	familyIP
	familyNull
)

func (o baseOp) family() family {
	switch {
	case o <= opStringLike:
		return familyString
	case o <= opNumericGreaterThanEquals:
		return familyNumeric
	case o <= opDateGreaterThanEquals:
		return familyDate
	case o == opBool:
		return familyBool
	case o == opIPAddress:
		return familyIP
	}
	return familyNull
}

// setOp is the ForAnyValue:/ForAllValues: qualifier.
type setOp uint8

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// operator is a parsed condition operator name.
type operator struct {
	base     baseOp
	negated  bool
	ifExists bool
	set      setOp
}

// parseOperator reads names like StringEquals, NotIpAddress, DateLessThanIfExists or
// ForAllValues:StringLike. Operator names are case-sensitive, as in IAM.
func parseOperator(name string) (operator, error) {
	var op operator
	rest := name
	if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		op.set, rest = setAnyValue, r
	} else if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		op.set, rest = setAllValues, r
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, r
	}
	var ok bool
	if op.base, op.negated, ok = lookupOperator(rest); !ok {
		return operator{}, fmt.Errorf("unknown operator %q", name)
	}
	if op.base == opNull && (op.ifExists || op.set != setNone) {
		return operator{}, fmt.Errorf("operator %q: Null takes neither IfExists nor a set prefix", name)
	}
	return op, nil
}

func lookupOperator(name string) (base baseOp, negated bool, ok bool) {
	switch name {
	case "StringEquals":
		return opStringEquals, false, true
	case "StringNotEquals":
		return opStringEquals, true, true
	case "StringEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, false, true
	case "StringNotEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, true, true
	case "StringLike":
		return opStringLike, false, true
	case "StringNotLike":
		return opStringLike, true, true
	case "NumericEquals":
		return opNumericEquals, false, true
	case "NumericNotEquals":
		return opNumericEquals, true, true
	case "NumericLessThan":
		return opNumericLessThan, false, true
	case "NumericLessThanEquals":
		return opNumericLessThanEquals, false, true
	case "NumericGreaterThan":
		return opNumericGreaterThan, false, true
	case "NumericGreaterThanEquals":
		return opNumericGreaterThanEquals, false, true
	case "DateEquals":
		return opDateEquals, false, true
	case "DateNotEquals":
		return opDateEquals, true, true
	case "DateLessThan":
		return opDateLessThan, false, true
	case "DateLessThanEquals":
		return opDateLessThanEquals, false, true
	case "DateGreaterThan":
		return opDateGreaterThan, false, true
	case "DateGreaterThanEquals":
		return opDateGreaterThanEquals, false, true
	case "Bool":
		return opBool, false, true
	case "IpAddress":
		return opIPAddress, false, true
	case "NotIpAddress":
		return opIPAddress, true, true
	case "Null":
		return opNull, false, true
	}
	return 0, false, false
}

// accepts reports whether a key of fixed type can be read by an operator family, so that
// "IpAddress" on aws:UserAgent is refused at compile time rather than never matching.
// Context values and headers may hold anything and are checked per request.
func (k keyKind) accepts(f family) bool {
	if f == familyString || f == familyNull {
		return true
	}
	switch k {
	case keySourceIP:
		return f == familyIP
	case keyCurrentTime:
		return f == familyDate
	case keyEpochTime:
		return f == familyDate || f == familyNumeric
	case keySecureTransport:
		return f == familyBool
	case keyUserAgent, keyReferer:
		return false
	}
	return true
}
