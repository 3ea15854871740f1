/// A value with its JSON read once: every file and variable made from one value uses the same
/// parse, however many there are.
struct ParsedValue {
    let payload: ValuePayload
    /// The value as a JSON object; nil when it is binary or not a JSON object.
    let object: JSONDocument?

    init(_ payload: ValuePayload) {
        self.payload = payload
        if case .string = payload.kind, let document = JSONDocument.parse(payload.bytes), case .object = document {
            object = document
        } else {
            object = nil
        }
    }
}
