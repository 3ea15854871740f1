import Testing

@testable import SecretSync

@Suite("Key sources: files, PKCS#11 URIs (RFC 7512) and TPM handles")
struct KeySourceTests {
    @Test func pathsStayPaths() throws {
        #expect(try KeySource.parse("/etc/ira/client.key") == .file("/etc/ira/client.key"))
        #expect(try KeySource.parse("/etc/ira/client.tss2.pem").isHardware == false)  // known only once read
    }

    @Test func persistentHandles() throws {
        #expect(try KeySource.parse("handle:0x81000001") == .tpmHandle(0x8100_0001))
        #expect(try KeySource.parse("HANDLE:0X81000ABC") == .tpmHandle(0x8100_0ABC))
        #expect(KeySource.tpmHandle(0x8100_0001).description == "handle:0x81000001")
        for bad in ["handle:", "handle:0x", "handle:xyz", "handle:0x810000011", "handle:0x40000001", "handle:0x80000000"] {
            let error = try #require(throws: KeySourceError.self) { try KeySource.parse(bad) }
            #expect(error.isUsageError)
            #expect(error.message.contains("'\(bad)'"))
        }
    }

    @Test func theDesignExample() throws {
        let text =
            "pkcs11:token=ira;object=client-key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/ira/pin"
        guard case .pkcs11(let uri) = try KeySource.parse(text) else {
            Issue.record("not parsed as PKCS#11")
            return
        }
        #expect(uri.token == "ira")
        #expect(uri.object == "client-key")
        #expect(uri.type == "private")
        #expect(uri.modulePath == "/usr/lib/softhsm/libsofthsm2.so")
        #expect(uri.pinSource == "/etc/ira/pin")
        #expect(uri.description == text)
        #expect(uri.objectDescription == "object=client-key")
    }

    @Test func percentEncodingAndBinaryIDs() throws {
        let uri = try PKCS11URI.parse("pkcs11:token=My%20Token;id=%01%a0%FF;slot-id=3;serial=00ab?pin-source=/run/pin")
        #expect(uri.token == "My Token")
        #expect(uri.id == [0x01, 0xA0, 0xFF])
        #expect(uri.slotID == 3)
        #expect(uri.serial == "00ab")
        #expect(uri.pinSource == "/run/pin")  // a bare path is accepted, as libp11 does
        #expect(uri.objectDescription == "id=%01%a0%ff")
        #expect(uri.modulePath == nil)  // p11-kit's proxy then
    }

    @Test func vendorAttributesAreIgnoredAndCaseOfTheSchemeIsFree() throws {
        let uri = try PKCS11URI.parse("PKCS11:object=k;x-vendor=1;library-version=2.6")
        #expect(uri.object == "k")
    }

    @Test(arguments: [
        ("pkcs11:object=k?pin-value=1234", "the PIN is written into the URI (pin-value)"),
        ("pkcs11:objet=k", "unknown attribute 'objet' in the path; did you mean 'object'?"),
        ("pkcs11:object=k;pin-source=file:/p", "'pin-source' belongs in the query"),
        ("pkcs11:object=k?token=t", "'token' belongs in the path"),
        ("pkcs11:object=k?module-name=softhsm2", "module-name is not supported"),
        ("pkcs11:object=k?module-path=libsofthsm2.so", "is not an absolute path"),
        ("pkcs11:object=k?pin-source=file:pin", "is not an absolute file path"),
        ("pkcs11:token=t", "it names no key"),
        ("pkcs11:object=k;type=cert", "type=cert does not name a private key"),
        ("pkcs11:object=k;object=j", "'object' is given twice"),
        ("pkcs11:object=%zz", "% not followed by two hex digits"),
        ("pkcs11:object", "is not an attribute=value pair"),
        ("pkcs11:object=", "object is empty"),
        ("pkcs11:object=k;slot-id=one", "slot-id 'one' is not a decimal number"),
        ("pkcs11:object=k#frag", "a fragment"),
    ])
    func invalidURIsSayWhy(text: String, expected: String) throws {
        let error = try #require(throws: KeySourceError.self) { try KeySource.parse(text) }
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.fix != nil)
        #expect(error.isUsageError)
    }

    @Test func aPinInTheURIIsNeverRepeated() throws {
        let error = try #require(throws: KeySourceError.self) {
            try KeySource.parse("pkcs11:object=k?pin-value=s3cr3t&module-path=/m.so")
        }
        #expect(!error.description.contains("s3cr3t"))
        #expect(error.message.contains("pin-value=REDACTED"))
    }

    @Test func tpmResponseCodesAreReducedToTheirBase() {
        // tpm2-openssl's decoded code, TSS log lines, and codes that are not TPM codes at all.
        #expect(TPMKeyLoader.responseCodes("tpm2::cannot sign (2446 tpm:session(1):the authorization HMAC check failed)") == [0x08E])
        #expect(TPMKeyLoader.responseCodes("TSS: Esys_Load() Esys Finish ErrorCode (0x00000902)") == [0x902])
        #expect(TPMKeyLoader.responseCodes("handle:0x81000001 (0x0000018b)") == [0x08B])
        #expect(TPMKeyLoader.responseCodes("error:1608010C:STORE routines::unsupported") == [])
        #expect(TPMKeyLoader.responseCodes("Esys Finish ErrorCode (0x00000921)") == [0x921])
    }

    @Test func pkcs11ECDSASignaturesBecomeDER() throws {
        // r = 1, s = 0x80 (a leading zero is added to keep s positive), 32 bytes each for P-256.
        var raw = [UInt8](repeating: 0, count: 64)
        raw[31] = 1
        raw[63] = 0x80
        let der = try PKCS11Key.derECDSA(raw, label: "test key")
        #expect(der == [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80])
        #expect(throws: CryptoError.self) { try PKCS11Key.derECDSA([1, 2, 3], label: "test key") }
    }

    @Test func curvesByTheirParameters() {
        #expect(PKCS11Key.curveName([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]) == "P-256")
        #expect(PKCS11Key.curveName([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]) == "P-384")
        #expect(PKCS11Key.curveName([0x06, 0x03, 0x2b, 0x65, 0x70]).hasPrefix("curve with parameters"))
    }
}
