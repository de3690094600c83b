// Package policy parses, compiles, interns and evaluates the IAM policy documents Lambda
// authorizers return, with the semantics API Gateway gives them for execute-api:Invoke.
//
// A document is compiled once, when the backend answers, into an immutable Policy whose
// Evaluate allocates nothing; the cache keeps the compiled form and re-evaluates it against each
// request's methodArn. An Interner shares one Policy among every answer with the same bytes.
//
// Grammar accepted:
//
//   - Version "2012-10-17" or "2008-10-17" (the default when absent; policy variables are only
//     recognised in 2012-10-17, as in IAM), Id, and Statement as one object or a list of at most
//     MaxStatements. A document is at most MaxDocumentSize bytes.
//   - Each statement: optional Sid; Effect "Allow" or "Deny"; exactly one of Action/NotAction and
//     exactly one of Resource/NotResource, each a string or a non-empty list of strings; optional
//     Condition. Member names are exact and unique; any other member is an error.
//   - Action patterns are matched case-insensitively against execute-api:Invoke. Resource
//     patterns must match the whole methodArn, case-sensitively; "*" matches any run of
//     characters including "/", "?" exactly one character.
//   - Condition operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
//     StringNotEqualsIgnoreCase, StringLike, StringNotLike, NumericEquals, NumericNotEquals,
//     NumericLessThan, NumericLessThanEquals, NumericGreaterThan, NumericGreaterThanEquals,
//     DateEquals, DateNotEquals, DateLessThan, DateLessThanEquals, DateGreaterThan,
//     DateGreaterThanEquals, Bool, IpAddress, NotIpAddress, Null; each but Null with an optional
//     IfExists suffix and ForAnyValue: or ForAllValues: prefix.
//   - Condition keys and policy variables (names case-insensitive): aws:SourceIp,
//     aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:UserAgent, aws:Referer,
//     context:<key> (the authorizer's context) and request:header/<name>. ${*}, ${?} and ${$}
//     stand for the literal characters. A variable whose key the request lacks never matches.
//
// Evaluation follows IAM: a matching Deny gives an explicit deny, else a matching Allow allows,
// else the request is implicitly denied. Anything the compiler cannot give a meaning to is an
// *Error naming the statement and field; nothing is silently ignored.
package policy
