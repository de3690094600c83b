// Package wire is how the gRPC front reads and writes its messages: the gRPC codec the server is
// built with (Codec), a hand-written decoder for the part of a CheckRequest every request
// carries (decodeCheck), and the decoding of strings that are not UTF-8, which Envoy's C++
// protobuf sends as a request's bytes and Go's protobuf refuses (unmarshalLenient).
//
// It exists for speed: grpc-go's standard codec marshals by reflection and inserts a
// CheckRequest's header and context-extension entries through reflection, which code that knows
// the Go types does not. The speed is bought with code that must read and write exactly what the
// standard codec does, so it lives here, apart from the front's logic, with the tests and fuzz
// targets that hold it to that (TestDecodeCheckMatchesStandard,
// TestCodecMatchesStandardMarshaling, TestLenientMatchesStandard, FuzzDecodeCheck,
// FuzzDecodeCheckFields, FuzzLenientMatchesStandard). The benchmarks that justify it:
// BenchmarkDecodeCheck here (decodeCheck against proto.Unmarshal), and in package extauthz
// BenchmarkCodecMarshal (the codec against the standard one on cached responses) and
// BenchmarkCheckWire (a whole Check from wire bytes to wire bytes).
//
// Anything decodeCheck does not read exactly as proto.Unmarshal would goes to the standard
// decoder, so an odd message gets the standard answer. The generated marshalers are compiled in
// only under the build tag vtprotobuf; GeneratedMarshalers says whether they were.
package wire
