import Glibc
import Testing

@testable import SecretSync

@Suite("The process environment")
struct ProcessEnvironmentTests {
    @Test func currentReadsEnvironLikeGetenv() {
        setenv("SECRET_SYNC_TEST_ENV", "a=b=c", 1)
        defer { unsetenv("SECRET_SYNC_TEST_ENV") }
        let current = ProcessEnvironment.current()
        #expect(current["SECRET_SYNC_TEST_ENV"] == "a=b=c")
        #expect(ProcessEnvironment.value("SECRET_SYNC_TEST_ENV") == "a=b=c")
        #expect(current["PATH"] == ProcessEnvironment.value("PATH"))
        #expect(ProcessEnvironment.value("SECRET_SYNC_TEST_UNSET") == nil)
    }
}
