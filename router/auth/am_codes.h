// The inner codes of WeCross's account manager: what /auth/* answers carry in data.errorCode while the envelope says
// 0 (wecross-rpc.md §7). Kept apart from weft::code, whose numbers are envelope codes and overlap these (40xxx).
#pragma once

namespace weft::am_code {

inline constexpr int kInvalidParameters = 40001;
inline constexpr int kUaExists = 40002;
inline constexpr int kUaNotExist = 40003;
inline constexpr int kChainAccountExists = 40004;
inline constexpr int kChainAccountNotExist = 40005;
inline constexpr int kConfigItem = 40006;
inline constexpr int kLoginFailed = 40007;     // "account or password incorrect"; also every failure to decrypt a login
inline constexpr int kAuthCodeExpired = 40008; // the image token (randomToken) is older than its life
inline constexpr int kAuthCodeNotFound = 40009; // the image token is unknown or already used
inline constexpr int kAuthCodeMismatch = 40010;
inline constexpr int kCreateUaFailed = 40011;
inline constexpr int kLoggedOut = 40012;
inline constexpr int kChainAccountTypeNotFound = 40013;
inline constexpr int kFlushData = 40014;
inline constexpr int kChainAccountModified = 40015;
inline constexpr int kUaModified = 40016; // the UA changed (password, role, removal) while a request was using it
inline constexpr int kInvalidPath = 40017;
inline constexpr int kAccountExists = 40018;

} // namespace weft::am_code
