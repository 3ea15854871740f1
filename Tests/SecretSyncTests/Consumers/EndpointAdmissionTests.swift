import Foundation
import Testing

@testable import SecretSync

@Suite("Credentials endpoint: admission and refusal lines")
struct EndpointAdmissionTests {
    @Test func oneUserCannotTakeAnotherUsersShare() {
        let admission = EndpointAdmission(total: 4, perUser: 2)
        #expect(admission.enter(user: 65534) && admission.enter(user: 65534))
        #expect(!admission.enter(user: 65534))
        #expect(admission.enter(user: 0))
        admission.leave(user: 65534)
        #expect(admission.enter(user: 65534))
        #expect(admission.enter(user: nil), "an unknown owner is a user of its own")
    }

    @Test func theTotalIsBounded() {
        let admission = EndpointAdmission(total: 2, perUser: 2)
        #expect(admission.enter() && admission.enter())
        #expect(!admission.enter())
        admission.leave()
        #expect(admission.enter())
    }

    @Test func refusalsAreLoggedOncePerIntervalWithTheCountLeftOut() {
        let throttle = RefusalThrottle(interval: 10)
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(throttle.admit("65534 503", now: start) == 0)
        #expect(throttle.admit("65534 503", now: start.addingTimeInterval(1)) == nil)
        #expect(throttle.admit("65534 503", now: start.addingTimeInterval(9)) == nil)
        #expect(throttle.admit("0 503", now: start.addingTimeInterval(9)) == 0, "another user has a line of its own")
        #expect(throttle.admit("65534 503", now: start.addingTimeInterval(10)) == 2)
        #expect(throttle.admit("65534 503", now: start.addingTimeInterval(25)) == 0)
    }
}
