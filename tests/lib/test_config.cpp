// The configuration layer: every error is one line with file:line:col, the dotted key
// path, the value as written and what is wrong (DESIGN.md, "Contracts: Errors").
#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/error.hpp"

using plast::ConfigNode;
using plast::Range;

namespace {

// The message of the plast::Error that `f` throws ("<no error>" if none).
template <typename F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const plast::Error& e) {
    return e.what();
  }
  return "<no error>";
}

ConfigNode parse(const std::string& text) { return ConfigNode::load_string(text, "t.yaml"); }

std::string data_file(const std::string& name) {
  return std::string(PLAST_TEST_DATA) + "/config/" + name;
}

}  // namespace

TEST_SUITE("lib/config") {

TEST_CASE("a well-formed file reads into values with paths and 1-based locations") {
  auto cfg = parse(
      "seed: 42\n"
      "optimizer:\n"
      "  type: adam\n"
      "  lr: 1e-3\n"
      "  nesterov: true\n"
      "network:\n"
      "  hidden: [256, 128]\n"
      "  layers:\n"
      "    - 10\n"
      "    - 20\n");
  CHECK(cfg.is_map());
  CHECK(cfg.path() == "");
  CHECK(cfg.where().str() == "t.yaml:1:1");
  CHECK(cfg.keys() == std::vector<std::string>{"seed", "optimizer", "network"});
  CHECK(cfg.at("seed").as_int() == 42);
  CHECK(cfg.at("seed").where().str() == "t.yaml:1:7");

  auto opt = cfg.at("optimizer");
  CHECK(opt.path() == "optimizer");
  CHECK(opt.where().str() == "t.yaml:3:3");
  CHECK(opt.keys() == std::vector<std::string>{"type", "lr", "nesterov"});
  CHECK(opt.at("type").as_string() == "adam");
  CHECK(opt.at("lr").as_double() == doctest::Approx(1e-3));
  CHECK(opt.at("lr").path() == "optimizer.lr");
  CHECK(opt.at("lr").where().str() == "t.yaml:4:7");
  CHECK(opt.at("lr").where().file == "t.yaml");
  CHECK(opt.at("lr").where().line == 4);
  CHECK(opt.at("lr").where().column == 7);
  CHECK(opt.at("lr").scalar_text() == "1e-3");
  CHECK(opt.at("nesterov").as_bool());

  auto hidden = cfg.at("network").at("hidden");
  CHECK(hidden.is_sequence());
  auto items = hidden.items();
  REQUIRE(items.size() == 2);
  CHECK(items[1].path() == "network.hidden[1]");
  CHECK(items[1].where().str() == "t.yaml:7:17");
  CHECK(items[1].as_int() == 128);

  auto layers = cfg.at("network").at("layers").items();
  REQUIRE(layers.size() == 2);
  CHECK(layers[0].where().str() == "t.yaml:9:7");
  CHECK(layers[1].where().str() == "t.yaml:10:7");
  CHECK(layers[1].path() == "network.layers[1]");
}

TEST_CASE("type predicates") {
  auto cfg = parse("m: {a: 1}\ns: [1]\nx: 3\nn: ~\ne:\n");
  CHECK(cfg.at("m").is_map());
  CHECK(cfg.at("s").is_sequence());
  CHECK(cfg.at("x").is_scalar());
  CHECK(cfg.at("n").is_null());
  CHECK(cfg.at("e").is_null());
  CHECK_FALSE(cfg.at("x").is_map());
  CHECK_FALSE(cfg.at("n").is_scalar());
}

TEST_CASE("non-ASCII text and a byte-order mark keep locations right") {
  auto cfg = parse("\xEF\xBB\xBFname: \"caf\xC3\xA9\"\nlr: ~\nb: \"x\"\n");
  CHECK(cfg.at("name").as_string() == "caf\xC3\xA9");
  CHECK(cfg.at("name").where().str() == "t.yaml:1:7");
  CHECK(cfg.at("lr").where().str() == "t.yaml:2:5");
  CHECK(cfg.at("b").as_string() == "x");
}

TEST_CASE("a missing file names the path") {
  const std::string path = data_file("does_not_exist.yaml");
  CHECK(config_error([&] { ConfigNode::load_file(path); }) == path + ": cannot open file");
  CHECK(config_error([&] { ConfigNode::load_file(std::string(PLAST_TEST_DATA) + "/config"); }) ==
        std::string(PLAST_TEST_DATA) + "/config: cannot open file (it is a directory)");
}

TEST_CASE("a YAML syntax error has the file, line and column") {
  const std::string path = data_file("syntax_error.yaml");
  CHECK(config_error([&] { ConfigNode::load_file(path); }) ==
        path + ":5:2: YAML syntax error: end of map not found");
  CHECK(config_error([] { parse("a: b: c\n"); }) == "t.yaml:1:5: YAML syntax error: illegal map value");
  CHECK(config_error([] { parse("a: \"unterminated"); }) ==
        "t.yaml:1:17: YAML syntax error: illegal EOF in scalar");
  // yaml-cpp itself lets these through when a line break follows.
  CHECK(config_error([] { parse("a: \"unterminated\n"); }) ==
        "t.yaml:1:4: YAML syntax error: end of quoted text not found");
  CHECK(config_error([] { parse("a: 1\nb: 'it''s open\n"); }) ==
        "t.yaml:2:4: YAML syntax error: end of quoted text not found");
  CHECK(config_error([] { parse("a: 1\n\"key: 2\n"); }) ==
        "t.yaml:2:1: YAML syntax error: end of quoted text not found");
  CHECK(parse("a: \"say \\\"hi\\\"\"\nb: 'it''s'\n").at("a").as_string() == "say \"hi\"");
  CHECK(parse("b: 'it''s'\n").at("b").as_string() == "it's");
  CHECK(config_error([] { parse("a: [1, 2\n"); }) ==
        "t.yaml:2:1: YAML syntax error: end of sequence flow not found");
}

TEST_CASE("load_file reads a good file and names values by the path given") {
  const std::string path = data_file("unknown_key.yaml");
  auto cfg = ConfigNode::load_file(path);
  CHECK(cfg.at("seed").as_int() == 7);
  CHECK(cfg.at("seed").where().str() == path + ":2:7");
}

TEST_CASE("unknown keys are rejected with the nearest valid key suggested") {
  const std::string path = data_file("unknown_key.yaml");
  auto cfg = ConfigNode::load_file(path);
  cfg.expect_keys({"seed", "optimizer"});
  CHECK(config_error([&] { cfg.at("optimizer").expect_keys({"type", "learning_rate", "momentum"}); }) ==
        path + ":5:3: optimizer.lerning_rate: unknown key (did you mean 'learning_rate'?)");

  // The key's own location, at the top level too.
  auto top = parse("seed: 1\nsede: 2\n");
  CHECK(config_error([&] { top.expect_keys({"seed", "steps"}); }) ==
        "t.yaml:2:1: sede: unknown key (did you mean 'seed'?)");
  // An adjacent swap counts as one edit.
  auto swapped = parse("optimizer:\n  momentmu: 0.9\n");
  CHECK(config_error([&] { swapped.at("optimizer").expect_keys({"lr", "momentum"}); }) ==
        "t.yaml:2:3: optimizer.momentmu: unknown key (did you mean 'momentum'?)");
}

TEST_CASE("unknown keys without a close match list the known keys") {
  auto cfg = parse("optimizer:\n  lr: 0.1\n  zzz: 1\n");
  CHECK(config_error([&] { cfg.at("optimizer").expect_keys({"lr", "momentum", "nesterov"}); }) ==
        "t.yaml:3:3: optimizer.zzz: unknown key (known: lr, momentum, nesterov)");
  CHECK(config_error([&] { cfg.at("optimizer").expect_keys({}); }) ==
        "t.yaml:2:3: optimizer.lr: unknown key (no keys are allowed here)");
  auto merged = parse("base: &b {x: 1}\nd:\n  <<: *b\n");
  CHECK(config_error([&] { merged.at("d").expect_keys({"x"}); }) ==
        "t.yaml:3:3: d.<<: unknown key (YAML merge keys are not supported)");
  // Known keys pass; an empty section has no unknown keys.
  cfg.at("optimizer").expect_keys({"lr", "zzz"});
  parse("optimizer:\n").at("optimizer").expect_keys({"lr"});
}

TEST_CASE("missing required keys point at the map that lacks them") {
  auto cfg = parse("seed: 1\noptimizer:\n  type: sgd\n");
  CHECK(config_error([&] { cfg.at("optimizer").at("lr"); }) ==
        "t.yaml:3:3: optimizer: missing required key 'lr'");
  CHECK(config_error([&] { cfg.at("strategy"); }) == "t.yaml:1:1: missing required key 'strategy'");
  // An empty section is an empty map: its keys are missing, not "not a map".
  auto empty = parse("optimizer:\nseed: 1\n");
  CHECK(config_error([&] { empty.at("optimizer").at("lr"); }) ==
        "t.yaml:1:1: optimizer: missing required key 'lr'");
  // An empty document.
  CHECK(config_error([] { parse("").at("seed"); }) == "t.yaml:1:1: missing required key 'seed'");
  CHECK(config_error([] { parse("# only a comment\n").at("seed"); }) ==
        "t.yaml:1:1: missing required key 'seed'");
}

TEST_CASE("has, find, keys and defaults") {
  auto cfg = parse("a: 1\nb:\n  c: x\nempty:\n");
  CHECK(cfg.has("a"));
  CHECK_FALSE(cfg.has("z"));
  CHECK(cfg.find("b").has_value());
  CHECK(cfg.find("b")->at("c").as_string() == "x");
  CHECK_FALSE(cfg.find("z").has_value());
  CHECK(cfg.at("empty").keys().empty());
  CHECK_FALSE(cfg.at("empty").has("x"));

  CHECK(cfg.get_int("a", 5) == 1);
  CHECK(cfg.get_int("z", 5) == 5);
  CHECK(cfg.get_double("a", 2.5) == 1.0);
  CHECK(cfg.get_double("z", 2.5) == 2.5);
  CHECK(cfg.at("b").get_string("c", "d") == "x");
  CHECK(cfg.at("b").get_string("z", "d") == "d");
  CHECK(cfg.get_bool("z", true));
  CHECK(cfg.at("empty").get_double("lr", 0.1) == 0.1);
}

TEST_CASE("a key given without a value is an error, not the default") {
  auto cfg = parse("optimizer:\n  lr:\n  momentum: 0.9\n");
  CHECK(config_error([&] { cfg.at("optimizer").get_double("lr", 0.1); }) ==
        "t.yaml:2:3: optimizer.lr: must be a number");
  auto explicit_null = parse("lr: ~\n");
  CHECK(explicit_null.at("lr").where().str() == "t.yaml:1:5");
  CHECK(config_error([&] { explicit_null.get_int("lr", 1); }) == "t.yaml:1:5: lr: must be an integer");
  CHECK(explicit_null.at("lr").scalar_text() == "");
}

TEST_CASE("map access on a value that is not a map fails") {
  auto cfg = parse("optimizer: adam\nlist: [1]\n");
  CHECK(config_error([&] { cfg.at("optimizer").at("lr"); }) ==
        "t.yaml:1:12: optimizer = adam: must be a map");
  CHECK(config_error([&] { cfg.at("optimizer").get_double("lr", 0.1); }) ==
        "t.yaml:1:12: optimizer = adam: must be a map");
  CHECK(config_error([&] { cfg.at("optimizer").expect_keys({"lr"}); }) ==
        "t.yaml:1:12: optimizer = adam: must be a map");
  CHECK(config_error([&] { cfg.at("list").keys(); }) == "t.yaml:2:7: list: must be a map");
  CHECK(config_error([] { parse("hello\n").expect_keys({"seed"}); }) ==
        "t.yaml:1:1: document = hello: must be a map");
}

TEST_CASE("wrong types name the value as written") {
  auto cfg = parse(
      "lr: fast\n"
      "steps: 1.5\n"
      "flag: maybe\n"
      "name: [a, b]\n"
      "section: {a: 1}\n"
      "quoted: \"\"\n");
  CHECK(config_error([&] { cfg.at("lr").as_double(); }) == "t.yaml:1:5: lr = fast: must be a number");
  CHECK(config_error([&] { cfg.at("steps").as_int(); }) == "t.yaml:2:8: steps = 1.5: must be an integer");
  CHECK(config_error([&] { cfg.at("flag").as_bool(); }) ==
        "t.yaml:3:7: flag = maybe: must be true or false");
  CHECK(config_error([&] { cfg.at("name").as_string(); }) == "t.yaml:4:7: name: must be a string");
  CHECK(config_error([&] { cfg.at("lr").items(); }) == "t.yaml:1:5: lr = fast: must be a list");
  CHECK(config_error([&] { cfg.at("section").items(); }) == "t.yaml:5:10: section: must be a list");
  CHECK(config_error([&] { cfg.at("section").as_double(); }) == "t.yaml:5:10: section: must be a number");
  CHECK(config_error([&] { cfg.at("quoted").as_double(); }) == "t.yaml:6:9: quoted = \"\": must be a number");
  CHECK(config_error([&] { cfg.at("name").scalar_text(); }) == "t.yaml:4:7: name: must be a single value");
  CHECK(config_error([&] { cfg.get_double("lr", 1.0); }) == "t.yaml:1:5: lr = fast: must be a number");
  CHECK(config_error([&] { cfg.get_int("steps", 1); }) == "t.yaml:2:8: steps = 1.5: must be an integer");
  CHECK(config_error([&] { cfg.get_bool("flag", false); }) ==
        "t.yaml:3:7: flag = maybe: must be true or false");
  CHECK(config_error([&] { cfg.get_string("section", "x"); }) == "t.yaml:5:10: section: must be a string");
  // Bad values read from a file.
  const std::string path = data_file("bad_value.yaml");
  auto bad = ConfigNode::load_file(path);
  CHECK(config_error([&] { bad.at("strategy").get_int("population", 8); }) ==
        path + ":4:15: strategy.population = 16.5: must be an integer");
  CHECK(config_error([&] { bad.at("network").at("hidden").as_int_list(); }) ==
        path + ":6:17: network.hidden[1] = abc: must be an integer");
}

TEST_CASE("doubles are parsed strictly and must be finite") {
  auto value = [](const std::string& text) {
    return parse("x: " + text + "\n").at("x").as_double();
  };
  CHECK(value("1.5") == 1.5);
  CHECK(value("-2") == -2.0);
  CHECK(value("+3") == 3.0);
  CHECK(value("1e-3") == doctest::Approx(1e-3));
  CHECK(value("2.5E2") == 250.0);
  CHECK(value(".5") == 0.5);
  CHECK(value("\"0.25\"") == 0.25);  // quoted numbers are numbers too
  CHECK(value("0") == 0.0);
  CHECK(config_error([&] { value("1.5abc"); }) == "t.yaml:1:4: x = 1.5abc: must be a number");
  CHECK(config_error([&] { value("1e"); }) == "t.yaml:1:4: x = 1e: must be a number");
  CHECK(config_error([&] { value("0x10"); }) == "t.yaml:1:4: x = 0x10: must be a number");
  CHECK(config_error([&] { value("+-1"); }) == "t.yaml:1:4: x = +-1: must be a number");
  CHECK(config_error([&] { value("\" 1\""); }) == "t.yaml:1:4: x =  1: must be a number");
  CHECK(config_error([&] { value("nan"); }) == "t.yaml:1:4: x = nan: must be a finite number");
  CHECK(config_error([&] { value(".nan"); }) == "t.yaml:1:4: x = .nan: must be a finite number");
  CHECK(config_error([&] { value("-.inf"); }) == "t.yaml:1:4: x = -.inf: must be a finite number");
  CHECK(config_error([&] { value("inf"); }) == "t.yaml:1:4: x = inf: must be a finite number");
  CHECK(config_error([&] { value("Infinity"); }) == "t.yaml:1:4: x = Infinity: must be a finite number");
  CHECK(config_error([&] { value("1e400"); }) == "t.yaml:1:4: x = 1e400: must be a finite number");
  CHECK(config_error([&] { value("-1e400"); }) == "t.yaml:1:4: x = -1e400: must be a finite number");
  CHECK(config_error([&] { value("1e-400"); }) ==
        "t.yaml:1:4: x = 1e-400: is too close to zero to be represented (write 0?)");
}

TEST_CASE("integers are parsed strictly and must fit in 64 bits") {
  auto value = [](const std::string& text) { return parse("n: " + text + "\n").at("n").as_int(); };
  CHECK(value("0") == 0);
  CHECK(value("-17") == -17);
  CHECK(value("+5") == 5);
  CHECK(value("9223372036854775807") == std::numeric_limits<long long>::max());
  CHECK(value("-9223372036854775808") == std::numeric_limits<long long>::min());
  CHECK(config_error([&] { value("1.0"); }) == "t.yaml:1:4: n = 1.0: must be an integer");
  CHECK(config_error([&] { value("1e3"); }) == "t.yaml:1:4: n = 1e3: must be an integer");
  CHECK(config_error([&] { value("12abc"); }) == "t.yaml:1:4: n = 12abc: must be an integer");
  CHECK(config_error([&] { value("\"-\""); }) == "t.yaml:1:4: n = -: must be an integer");
  CHECK(config_error([&] { value("9223372036854775808"); }) ==
        "t.yaml:1:4: n = 9223372036854775808: must be an integer between "
        "-9223372036854775808 and 9223372036854775807");
  CHECK(config_error([&] { value("-99999999999999999999"); }) ==
        "t.yaml:1:4: n = -99999999999999999999: must be an integer between "
        "-9223372036854775808 and 9223372036854775807");
}

TEST_CASE("booleans and strings") {
  auto cfg = parse("a: true\nb: False\nc: TRUE\nd: yes\ne: 1\ns: hello world\nq: \"a: b\"\nk: 12\n");
  CHECK(cfg.at("a").as_bool());
  CHECK_FALSE(cfg.at("b").as_bool());
  CHECK(cfg.at("c").as_bool());
  CHECK(config_error([&] { cfg.at("d").as_bool(); }) == "t.yaml:4:4: d = yes: must be true or false");
  CHECK(config_error([&] { cfg.at("e").as_bool(); }) == "t.yaml:5:4: e = 1: must be true or false");
  CHECK(cfg.at("s").as_string() == "hello world");
  CHECK(cfg.at("q").as_string() == "a: b");
  CHECK(cfg.at("k").as_string() == "12");
  CHECK(config_error([] { parse("s:\n").at("s").as_string(); }) == "t.yaml:1:1: s: must be a string");
}

TEST_CASE("integer lists accept a YAML list or a comma-separated scalar") {
  auto cfg = parse(
      "flow: [256, 256]\n"
      "block:\n"
      "  - 64\n"
      "  - 32\n"
      "text: 256,128\n"
      "spaced: \"256, 128 ,64\"\n"
      "one: 10\n"
      "none: []\n"
      "bad_text: 256,abc\n"
      "gap: 1,,2\n"
      "map: {a: 1}\n"
      "empty:\n"
      "zero: [4, 0]\n"
      "zero_text: 4,0\n"
      "huge: 1,99999999999999999999\n");
  CHECK(cfg.at("flow").as_int_list() == std::vector<long long>{256, 256});
  CHECK(cfg.at("block").as_int_list() == std::vector<long long>{64, 32});
  CHECK(cfg.at("text").as_int_list() == std::vector<long long>{256, 128});
  CHECK(cfg.at("spaced").as_int_list() == std::vector<long long>{256, 128, 64});
  CHECK(cfg.at("one").as_int_list() == std::vector<long long>{10});
  CHECK(cfg.at("none").as_int_list().empty());
  CHECK(config_error([&] { cfg.at("bad_text").as_int_list(); }) ==
        "t.yaml:9:11: bad_text = 256,abc: must be a list of integers");
  CHECK(config_error([&] { cfg.at("gap").as_int_list(); }) ==
        "t.yaml:10:6: gap = 1,,2: must be a list of integers");
  CHECK(config_error([&] { cfg.at("map").as_int_list(); }) == "t.yaml:11:6: map: must be a list of integers");
  CHECK(config_error([&] { cfg.at("empty").as_int_list(); }) ==
        "t.yaml:12:1: empty: must be a list of integers");
  CHECK(config_error([&] { cfg.at("zero").as_int_list(Range::positive()); }) ==
        "t.yaml:13:11: zero[1] = 0: must be > 0");
  CHECK(config_error([&] { cfg.at("zero_text").as_int_list(Range::positive()); }) ==
        "t.yaml:14:12: zero_text = 4,0: each entry must be > 0");
  CHECK(config_error([&] { cfg.at("huge").as_int_list(); }) ==
        "t.yaml:15:7: huge = 1,99999999999999999999: each entry must be an integer between "
        "-9223372036854775808 and 9223372036854775807");
}

TEST_CASE("double lists") {
  auto cfg = parse("betas: [0.9, 0.999]\ntext: 0.5, 1e-3\nbad: [1, x]\nbadtext: 1,x\nnan: 1,nan\n");
  CHECK(cfg.at("betas").as_double_list() == std::vector<double>{0.9, 0.999});
  CHECK(cfg.at("text").as_double_list() == std::vector<double>{0.5, 1e-3});
  CHECK(config_error([&] { cfg.at("bad").as_double_list(); }) == "t.yaml:3:10: bad[1] = x: must be a number");
  CHECK(config_error([&] { cfg.at("badtext").as_double_list(); }) ==
        "t.yaml:4:10: badtext = 1,x: must be a list of numbers");
  CHECK(config_error([&] { cfg.at("nan").as_double_list(); }) ==
        "t.yaml:5:6: nan = 1,nan: each entry must be a finite number");
  CHECK(config_error([&] { cfg.at("betas").as_double_list(Range::half_open(0, 0.99)); }) ==
        "t.yaml:1:14: betas[1] = 0.999: must be in [0, 0.99)");
}

TEST_CASE("range checks report the value and the bound in one line") {
  const std::string path = data_file("bad_value.yaml");
  auto cfg = ConfigNode::load_file(path);
  CHECK(config_error([&] { cfg.at("strategy").get_double("sigma", 0.1, Range::positive()); }) ==
        path + ":3:10: strategy.sigma = -1: must be > 0");

  auto c = parse("lr: -1\nmu: 1\nn: 1\nk: 0\np: 1.5\n");
  CHECK(config_error([&] { c.at("lr").as_double(Range::positive()); }) == "t.yaml:1:5: lr = -1: must be > 0");
  CHECK(config_error([&] { c.at("lr").as_double(Range::non_negative()); }) ==
        "t.yaml:1:5: lr = -1: must be >= 0");
  CHECK(config_error([&] { c.at("mu").as_double(Range::half_open(0, 1)); }) ==
        "t.yaml:2:5: mu = 1: must be in [0, 1)");
  CHECK(config_error([&] { c.at("mu").as_double(Range::open(0, 1)); }) ==
        "t.yaml:2:5: mu = 1: must be in (0, 1)");
  CHECK(config_error([&] { c.at("n").as_int(Range::at_least(2)); }) == "t.yaml:3:4: n = 1: must be >= 2");
  CHECK(config_error([&] { c.get_int("k", 5, Range::positive()); }) ==
        "t.yaml:4:4: k = 0: must be > 0");
  CHECK(config_error([&] { c.at("p").as_double(Range::closed(0, 1)); }) ==
        "t.yaml:5:4: p = 1.5: must be in [0, 1]");
  CHECK(config_error([&] { c.at("p").as_double(Range::at_most(0.5)); }) ==
        "t.yaml:5:4: p = 1.5: must be <= 0.5");
  CHECK(c.at("mu").as_double(Range::closed(0, 1)) == 1.0);
  CHECK(c.at("k").as_int(Range::non_negative()) == 0);
  CHECK(c.at("p").as_double(Range::positive()) == 1.5);
  // The fallback is not checked: it is the caller's own default.
  CHECK(c.get_double("absent", -3.0, Range::positive()) == -3.0);

  CHECK(Range().contains(-1e300));
  CHECK_FALSE(Range().contains(std::numeric_limits<double>::quiet_NaN()));
  CHECK(Range().describe() == "");
  CHECK(Range::closed(1e-8, 1e3).describe() == "in [1e-08, 1000]");
}

TEST_CASE("fail reports at the node, with the value for scalars") {
  auto cfg = parse("train:\n  min_lr: 0.5\n  max_lr: 0.1\n");
  auto train = cfg.at("train");
  CHECK(config_error([&] { train.at("max_lr").fail("must be larger than min_lr (0.5)"); }) ==
        "t.yaml:3:11: train.max_lr = 0.1: must be larger than min_lr (0.5)");
  CHECK(config_error([&] { train.fail("needs either steps or epochs"); }) ==
        "t.yaml:2:3: train: needs either steps or epochs");
  CHECK(config_error([&] { cfg.fail("is not a study"); }) == "t.yaml:1:1: is not a study");
  // Multi-line and long scalars stay on one line.
  auto text = parse("note: |\n  two\n  lines\nlong: " + std::string(100, 'x') + "\n");
  CHECK(config_error([&] { text.at("note").fail("bad"); }) == "t.yaml:1:7: note = two\\nlines\\n: bad");
  CHECK(config_error([&] { text.at("long").fail("bad"); }) ==
        "t.yaml:4:7: long = " + std::string(57, 'x') + "...: bad");
}

TEST_CASE("locations of values with nothing of their own, and of aliases") {
  auto cfg = parse(
      "a:\n"
      "b: {c: , d: 1}\n"
      "list:\n"
      "  -\n"
      "  - ~\n"
      "anchor: &v 5\n"
      "alias: *v\n");
  CHECK(cfg.at("a").where().str() == "t.yaml:1:1");        // "a:" has no value: the key
  CHECK(cfg.at("b").at("c").where().str() == "t.yaml:2:5");  // likewise inside a flow map
  auto items = cfg.at("list").items();
  REQUIRE(items.size() == 2);
  CHECK(items[0].where().str() == "t.yaml:4:3");  // nothing after the dash: the list
  CHECK(items[1].where().str() == "t.yaml:5:5");  // "~" written out: its own place
  CHECK(cfg.at("anchor").where().str() == "t.yaml:6:9");
  CHECK(cfg.at("alias").where().str() == "t.yaml:7:1");  // the use, not the anchor
  CHECK(cfg.at("alias").as_int() == 5);
  CHECK(config_error([&] { cfg.at("alias").as_int(Range::at_least(10)); }) ==
        "t.yaml:7:1: alias = 5: must be >= 10");
}

TEST_CASE("duplicate keys, odd keys and several documents are rejected at load") {
  const std::string dup = data_file("duplicate_key.yaml");
  CHECK(config_error([&] { ConfigNode::load_file(dup); }) ==
        dup + ":4:3: optimizer.lr: duplicate key (first given at line 3)");
  CHECK(config_error([] { parse("a: {b: 1, b: 2}\n"); }) ==
        "t.yaml:1:11: a.b: duplicate key (first given at line 1)");
  CHECK(config_error([] { parse("? [a, b]\n: 1\n"); }) ==
        "t.yaml:1:3: keys must be plain names (not lists, maps or empty)");
  CHECK(config_error([] { parse("x:\n  a: 1\n  : 2\n"); }) ==
        "t.yaml:3:3: x: keys must be plain names (not lists, maps or empty)");
  const std::string two = data_file("two_documents.yaml");
  CHECK(config_error([&] { ConfigNode::load_file(two); }) ==
        two + ":3:1: a second YAML document starts here (one document per file)");
  // A leading document marker alone is fine.
  CHECK(parse("---\nseed: 3\n").at("seed").as_int() == 3);
}

TEST_CASE("recursive aliases are rejected instead of crashing") {
  CHECK(config_error([] { parse("a: &x [*x]\n"); }).find("nested too deeply") != std::string::npos);
}

TEST_CASE("dump gives YAML text that loads back to the same values") {
  auto cfg = parse("# comment\nseed: 1\noptimizer: {type: sgd, lr: 0.5}\n");
  auto again = ConfigNode::load_string(cfg.dump(), "dumped");
  CHECK(again.at("seed").as_int() == 1);
  CHECK(again.at("optimizer").at("lr").as_double() == 0.5);
  CHECK(again.at("optimizer").keys() == std::vector<std::string>{"type", "lr"});
}

TEST_CASE("nearest: edit distance with a length-dependent limit") {
  using plast::nearest;
  CHECK(nearest("lerning_rate", {"momentum", "learning_rate"}) == "learning_rate");
  CHECK(nearest("sede", {"seed", "steps"}) == "seed");
  CHECK(nearest("momentmu", {"momentum"}) == "momentum");  // transposition = 1 edit
  CHECK(nearest("zzz", {"lr", "momentum"}) == "");
  CHECK(nearest("lr", {"mu"}) == "");  // two edits, but nothing in common
  CHECK(nearest("lr", {"lt"}) == "lt");
  CHECK(nearest("ab", {"abcd"}) == "abcd");  // distance 2 <= max(2, 0)
  CHECK(nearest("abcdef", {"abcxyz"}) == "");                  // 3 edits > max(2, 6 / 3)
  CHECK(nearest("abcdefghijkl", {"abcdefghixyz"}) == "abcdefghixyz");  // 3 <= max(2, 12 / 3)
  CHECK(nearest("x", {}) == "");
  CHECK(nearest("seed", {"seed", "seeds"}) == "seed");
  CHECK(nearest("sed", {"set", "sea"}) == "set");  // tie: the first candidate
  CHECK(nearest("populaton_size", {"population_size", "population"}) == "population_size");
  CHECK(nearest("hidden_sizes", {"hidden_size", "hidden"}) == "hidden_size");
}

}  // TEST_SUITE
