package routes

// methodAny is the method that matches every method with no explicit route of its own.
const methodAny = "ANY"

// The methods API Gateway lets a route name, besides ANY. Their codes index endpoint.byMethod.
const (
	methodDelete = iota
	methodGet
	methodHead
	methodOptions
	methodPatch
	methodPost
	methodPut
	numMethods
)

const methodList = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT or ANY"

// methodCode returns the code of an upper-case method, or -1 for any other method (which only an
// ANY route can match).
func methodCode(m string) int {
	switch m {
	case "GET":
		return methodGet
	case "POST":
		return methodPost
	case "PUT":
		return methodPut
	case "DELETE":
		return methodDelete
	case "PATCH":
		return methodPatch
	case "HEAD":
		return methodHead
	case "OPTIONS":
		return methodOptions
	}
	return -1
}
