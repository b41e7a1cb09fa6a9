#pragma once
// plast's errors for bad input: the message is a single line that names the problem (and,
// for configuration, where it is: "file:line:col: key: what is wrong"). The CLI prints it as
// it is and exits non-zero. Programming errors use assert.
#include <sstream>
#include <stdexcept>
#include <string>

namespace plast {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A value outside what its key allows: "lr = -1: must be > 0". Readers of YAML catch it and
// repeat it with the location of `key` in the file, so each rule is checked in one place.
class InvalidValue : public Error {
 public:
  template <class T>
  InvalidValue(std::string key, const T& value, std::string what)
      : Error(format(key, value, what)), key_(std::move(key)), what_(std::move(what)) {}
  const std::string& key() const { return key_; }
  const std::string& problem() const { return what_; }

 private:
  template <class T>
  static std::string format(const std::string& key, const T& value, const std::string& what) {
    std::ostringstream s;
    s << key << " = " << value << ": " << what;
    return s.str();
  }
  std::string key_, what_;
};

}  // namespace plast
