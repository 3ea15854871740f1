import CCurl

/// libcurl, loaded with `dlopen` the first time an HTTP client is made (see `Sources/CCurl/shim.h`
/// for why). Owns the table of curl's functions for the life of the process; every call into
/// libcurl goes through it.
struct CurlLibrary: @unchecked Sendable {
    // @unchecked Sendable: the table is written once, by `load`, before `shared` publishes it.
    private let table: UnsafeMutablePointer<ccurl_functions>

    /// The loaded library, or why it could not be loaded. Loaded once, on first use.
    static let shared: Result<CurlLibrary, HTTPError> = load()

    private static func load() -> Result<CurlLibrary, HTTPError> {
        let table = UnsafeMutablePointer<ccurl_functions>.allocate(capacity: 1)
        table.initialize(to: ccurl_functions())
        var message = [CChar](repeating: 0, count: 512)
        guard ccurl_load(table, &message, message.count) == 0 else {
            table.deallocate()
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(
                HTTPError(
                    kind: .other, url: "", curlCode: 0, message: "cannot load libcurl: \(reason)",
                    fix: "install libcurl 4 (Debian and Ubuntu: apt install libcurl4)"))
        }
        return .success(CurlLibrary(table: table))
    }

    func easyInit() -> UnsafeMutableRawPointer? { table.pointee.easy_init!() }
    func easyCleanup(_ handle: UnsafeMutableRawPointer) { table.pointee.easy_cleanup!(handle) }
    func easyReset(_ handle: UnsafeMutableRawPointer) { table.pointee.easy_reset!(handle) }
    func perform(_ handle: UnsafeMutableRawPointer) -> CURLcode { table.pointee.easy_perform!(handle) }
    func describe(_ code: CURLcode) -> String {
        table.pointee.easy_strerror!(code).map { String(cString: $0) } ?? "libcurl error \(code.rawValue)"
    }

    func append(_ list: UnsafeMutablePointer<curl_slist>?, _ text: String) -> UnsafeMutablePointer<curl_slist>? {
        table.pointee.slist_append!(list, text)
    }
    func freeList(_ list: UnsafeMutablePointer<curl_slist>?) { table.pointee.slist_free_all!(list) }

    func setLong(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int) {
        _ = ccurl_setopt_long(table, handle, option, value)
    }
    func setString(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: String) {
        _ = ccurl_setopt_string(table, handle, option, value)
    }
    func setPointer(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: UnsafeMutableRawPointer?) {
        _ = ccurl_setopt_pointer(table, handle, option, value)
    }
    func setList(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: UnsafeMutablePointer<curl_slist>?) {
        _ = ccurl_setopt_slist(table, handle, option, value)
    }
    func setOffset(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: Int) {
        _ = ccurl_setopt_offset(table, handle, option, curl_off_t(value))
    }
    func setCallback(_ handle: UnsafeMutableRawPointer, _ option: CURLoption, _ value: ccurl_data_callback) {
        _ = ccurl_setopt_callback(table, handle, option, value)
    }
    func getLong(_ handle: UnsafeMutableRawPointer, _ info: CURLINFO) -> Int {
        var value = 0
        _ = ccurl_getinfo_long(table, handle, info, &value)
        return value
    }
}
