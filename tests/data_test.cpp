// Loaders (CSV, IDX, NPY), data set slicing, validation split and scaling.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "nntune/data.hpp"
#include "test_builders.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::TempDir;
using testing::write_file;

void write_gzip(const std::string& path, const std::string& contents) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, contents.data(), static_cast<unsigned>(contents.size())), static_cast<int>(contents.size()));
  gzclose(file);
}

// ---------------------------------------------------------------------------------------- CSV

Dataset load_csv_text(const TempDir& dir, const std::string& text, CsvOptions options = {}) {
  options.path = dir.file("data.csv");
  write_file(options.path, text);
  return load_csv(options);
}

TEST(Csv, HeaderLabelByNameAndQuotedFieldsWithCommas) {
  TempDir dir;
  CsvOptions options;
  options.label = std::string("kind");
  const Dataset data = load_csv_text(dir, "a,kind,\"b, with comma\"\n1.5,2,\"3\"\n-4,0,\"5e1\"\n", options);
  ASSERT_EQ(data.x.shape(), (Shape{2, 2}));
  ASSERT_EQ(data.y.shape(), (Shape{2, 1}));
  EXPECT_EQ(data.x[0], 1.5f);
  EXPECT_EQ(data.x[1], 3.0f);
  EXPECT_EQ(data.x[2], -4.0f);
  EXPECT_EQ(data.x[3], 50.0f);
  EXPECT_EQ(data.y[0], 2.0f);
  EXPECT_EQ(data.y[1], 0.0f);
  EXPECT_EQ(data.num_classes, 3);
  EXPECT_EQ(data.task, Task::Classification);
  EXPECT_EQ(data.source, dir.file("data.csv"));
}

TEST(Csv, LabelIsLastColumnByDefaultOrAZeroBasedIndex) {
  TempDir dir;
  CsvOptions options;
  options.header = false;
  Dataset last = load_csv_text(dir, "1,2,3\n4,5,1\n", options);
  EXPECT_EQ(last.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(last.y[0], 3.0f);
  EXPECT_EQ(last.num_classes, 4);
  options.label = std::string("0");
  Dataset first = load_csv_text(dir, "1,2,3\n4,5,1\n", options);
  EXPECT_EQ(first.y[0], 1.0f);
  EXPECT_EQ(first.y[1], 4.0f);
  EXPECT_EQ(first.x[0], 2.0f);
  EXPECT_EQ(first.x[1], 3.0f);
}

TEST(Csv, QuotedFieldWithEscapedQuoteAndNewlineKeepsLineNumbers) {
  TempDir dir;
  CsvOptions options;
  options.label = std::string("y");
  // The header's quoted name spans two physical lines; the bad cell is on physical line 4.
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "\"x \"\"one\"\"\nsecond\",y\n1,0\nbad,1\n", options), "line 4, column 1",
                        "\"bad\"");
  options.label = std::string("x \"one\"\nsecond");
  const Dataset data = load_csv_text(dir, "\"x \"\"one\"\"\nsecond\",y\n1,0\n", options);
  EXPECT_EQ(data.y[0], 1.0f);
  EXPECT_EQ(data.x[0], 0.0f);
}

TEST(Csv, SkipRowsCrlfBlankLinesAndIntegerLabelsWrittenAsFloats) {
  TempDir dir;
  CsvOptions options;
  options.skip_rows = 1;
  options.header = false;
  const Dataset data = load_csv_text(dir, "3,2,a,b\r\n1,2,2.0\r\n\r\n3,4,0\r\n\n", options);
  ASSERT_EQ(data.size(), 2);
  EXPECT_EQ(data.y[0], 2.0f);
  EXPECT_EQ(data.x[3], 4.0f);
  EXPECT_EQ(data.num_classes, 3);
}

TEST(Csv, GzipIsDetectedByContentNotExtension) {
  TempDir dir;
  CsvOptions options;
  options.path = dir.file("compressed_without_gz_extension.csv");
  write_gzip(options.path, "f,label\n0.25,1\n0.5,0\n");
  Dataset data = load_csv(options);
  ASSERT_EQ(data.size(), 2);
  EXPECT_EQ(data.x[1], 0.5f);
  options.path = dir.file("plain_named.csv.gz");
  write_file(options.path, "f,label\n0.75,1\n");
  data = load_csv(options);
  EXPECT_EQ(data.x[0], 0.75f);
}

TEST(Csv, RegressionTargetsAreFloatsAndSpaceDelimiterMeansRunsOfBlanks) {
  TempDir dir;
  CsvOptions options;
  options.task = Task::Regression;
  options.delimiter = ' ';
  options.header = false;
  const Dataset data = load_csv_text(dir, "  1   2.5 -0.125\n3 4\t151.5  \n", options);
  ASSERT_EQ(data.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(data.y[0], -0.125f);
  EXPECT_EQ(data.y[1], 151.5f);
  EXPECT_EQ(data.x[1], 2.5f);
  EXPECT_EQ(data.num_classes, 0);
  EXPECT_EQ(data.task, Task::Regression);
}

TEST(Csv, GivenNumClassesIsKept) {
  TempDir dir;
  CsvOptions options;
  options.num_classes = 10;
  EXPECT_EQ(load_csv_text(dir, "a,y\n1,2\n", options).num_classes, 10);
}

TEST(Csv, LoadsSklearnIrisBostonAndDigits) {
  const std::string base = "/usr/lib/python3/dist-packages/sklearn/datasets/data/";
  if (!std::filesystem::exists(base + "iris.csv")) GTEST_SKIP() << "sklearn data sets not installed";
  CsvOptions options;
  options.path = base + "iris.csv";
  options.skip_rows = 1;
  options.header = false;
  const Dataset iris = load_csv(options);
  EXPECT_EQ(iris.x.shape(), (Shape{150, 4}));
  EXPECT_EQ(iris.num_classes, 3);
  EXPECT_EQ(iris.x[0], 5.1f);
  options.path = base + "boston_house_prices.csv";
  options.header = true;
  options.label = std::string("MEDV");
  options.task = Task::Regression;
  const Dataset boston = load_csv(options);
  EXPECT_EQ(boston.x.shape(), (Shape{506, 13}));
  EXPECT_EQ(boston.y[0], 24.0f);
  CsvOptions digits_options;  // gzip, no header, label last
  digits_options.path = base + "digits.csv.gz";
  digits_options.header = false;
  const Dataset digits = load_csv(digits_options);
  EXPECT_EQ(digits.x.shape(), (Shape{1797, 64}));
  EXPECT_EQ(digits.num_classes, 10);
}

TEST(Csv, ByteOrderMarkIsSkipped) {
  TempDir dir;
  CsvOptions options;
  options.label = "y";
  const Dataset data = load_csv_text(dir, "\xEF\xBB\xBF" "a,y\n1,0\n2,1\n", options);
  EXPECT_EQ(data.x.shape(), (Shape{2, 1}));
  EXPECT_EQ(data.y[1], 1.0f);
  // The mark sits before the first name: a label in the first column is where it used to hurt
  // ("label not in header").
  const Dataset first = load_csv_text(dir, "\xEF\xBB\xBF" "y,a\n0,1\n1,2\n", options);
  EXPECT_EQ(first.x.shape(), (Shape{2, 1}));
  EXPECT_EQ(first.x[1], 2.0f);
  EXPECT_EQ(first.y[1], 1.0f);
}

TEST(Csv, FeaturesOnlyReadsEveryColumnStrictly) {
  TempDir dir;
  CsvOptions options;
  options.features_only = true;
  const Dataset data = load_csv_text(dir, "a,b\n1,2\n3,4.5\n", options);
  EXPECT_EQ(data.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(data.x[3], 4.5f);
  EXPECT_EQ(data.y.size(), 0);
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b\n1,2\n3,1.5abc\n", options), "line 3, column 2", "\"1.5abc\"",
                        "not a number");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b\n1,nan\n", options), "line 2, column 2", "NaN");
  EXPECT_EQ(load_csv_text(dir, "a\n1\n2\n", options).x.shape(), (Shape{2, 1}));  // one column is enough
  // Rows of a features-only data set (no y) can be taken too.
  EXPECT_EQ(data.subset({1}).x[1], 4.5f);
  EXPECT_EQ(data.slice(1, 2).y.size(), 0);
}

TEST(CsvErrors, RaggedRowNamesLineAndCounts) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,c,d,y\n1,2,3,4,0\n1,2,3,4,1\n1,2,3,4,0\n1,2,3,4,0\n1,2,3,4,1\n1,2,3,0\n"),
                        "data.csv", "line 7 has 4 fields, expected 5", "header");
  CsvOptions no_header;
  no_header.header = false;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "1,2,0\n1,2,3,1\n", no_header), "line 2 has 4 fields, expected 3",
                        "first data row");
}

TEST(CsvErrors, NonNumericCellQuotesTheTextWithLineAndColumn) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n1,abc,1\n"), "data.csv", "line 3, column 2",
                        "cell \"abc\" is not a number");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,,0\n"), "line 2, column 2", "empty");
  CsvOptions no_header;
  no_header.header = false;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", no_header), "line 1, column 1", "set header to true");
}

TEST(CsvErrors, NanAndInfiniteValues) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,nan,0\n"), "line 2, column 2", "\"nan\"", "NaN or infinite");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n-inf,2,0\n"), "line 3, column 1", "NaN or infinite");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1e60,2,0\n"), "line 2, column 1", "too large for float32");
}

TEST(CsvErrors, ClassificationLabelsMustBeNonNegativeIntegersInRange) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,0\n2,2.5\n"), "line 3, column 2", "label \"2.5\"",
                        "non-negative integer", "regression");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,-1\n"), "line 2, column 2", "label \"-1\"");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,setosa\n"), "line 2, column 2", "\"setosa\"",
                        "map class names to numbers");
  CsvOptions three;
  three.num_classes = 3;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,0\n1,3\n", three), "line 3, column 2", "out of range",
                        "num_classes is 3", "0..2");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,123456789\n"), "too large for a class index", "regression");
}

TEST(CsvErrors, EmptyFileOrNoDataRows) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, ""), "data.csv", "no data rows");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n\n"), "no data rows", "the header row");
  CsvOptions skip;
  skip.skip_rows = 5;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,0\n", skip), "no data rows", "skipping 5 row(s)");
}

TEST(CsvErrors, UnknownLabelColumnListsHeaderNames) {
  TempDir dir;
  CsvOptions options;
  options.label = std::string("species");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "sepal,petal,class\n1,2,0\n", options), "label column 'species'",
                        "'sepal', 'petal', 'class'", "data.csv");
  options.label = std::string("7");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "sepal,petal,class\n1,2,0\n", options), "index 7 is out of range",
                        "3 columns");
  options.header = false;
  options.label = std::string("class");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "1,2,0\n", options), "'class'", "no header row");
}

TEST(CsvErrors, MissingFileUnterminatedQuoteAndSingleColumn) {
  TempDir dir;
  CsvOptions options;
  options.path = dir.file("missing.csv");
  EXPECT_ERROR_CONTAINS(load_csv(options), "missing.csv", "No such file", "check the path");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n\"1,0\n"), "line 2, column 1", "never ends");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n\"1\"x,0\n"), "line 2, column 1", "after the closing quote");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a;y\n1;0\n"), "1 column", "delimiter");
}

TEST(CsvErrors, TruncatedGzip) {
  TempDir dir;
  const std::string path = dir.file("whole.csv.gz");
  std::string rows = "a,y\n";
  for (int i = 0; i < 2000; ++i) rows += std::to_string(i * 7919 % 1000) + "," + std::to_string(i % 3) + "\n";
  write_gzip(path, rows);
  const std::string bytes = testing::read_file(path);
  CsvOptions options;
  options.path = dir.file("cut.csv.gz");
  write_file(options.path, bytes.substr(0, bytes.size() / 2));
  EXPECT_ERROR_CONTAINS(load_csv(options), "cut.csv.gz", "truncated");
}

// ---------------------------------------------------------------------------------------- IDX

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, uint32_t magic = 0x803) {
  std::string bytes = be32(magic) + be32(n) + be32(rows) + be32(cols);
  for (uint32_t i = 0; i < n * rows * cols; ++i) bytes.push_back(static_cast<char>((i * 37) % 256));
  return bytes;
}

std::string idx_labels(const std::vector<uint8_t>& labels) {
  std::string bytes = be32(0x801) + be32(static_cast<uint32_t>(labels.size()));
  for (uint8_t l : labels) bytes.push_back(static_cast<char>(l));
  return bytes;
}

TEST(Idx, LoadsPlainAndGzipImagesAsFloatsInByteRange) {
  TempDir dir;
  write_file(dir.file("images"), idx_images(3, 2, 4));
  write_gzip(dir.file("labels"), idx_labels({2, 0, 7}));
  const Dataset data = load_idx(dir.file("images"), dir.file("labels"));
  ASSERT_EQ(data.x.shape(), (Shape{3, 2, 4}));
  ASSERT_EQ(data.y.shape(), (Shape{3, 1}));
  for (int64_t i = 0; i < data.x.size(); ++i) EXPECT_EQ(data.x[i], static_cast<float>((i * 37) % 256));
  EXPECT_EQ(data.y[2], 7.0f);
  EXPECT_EQ(data.num_classes, 8);
  EXPECT_EQ(load_idx(dir.file("images"), dir.file("labels"), 10).num_classes, 10);
}

TEST(IdxErrors, MissingFileAndWrongMagic) {
  TempDir dir;
  write_file(dir.file("images"), idx_images(2, 2, 2));
  write_file(dir.file("labels"), idx_labels({1, 0}));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("nope"), dir.file("labels")), "nope", "No such file");
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("labels"), dir.file("images")), "IDX images file", "found magic number 0x00000801",
                        "expected 0x00000803", "is this an IDX images file?", "swapped");
  write_file(dir.file("text"), "hello world, not idx");
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("images"), dir.file("text")), "text", "expected 0x00000801",
                        "is this an IDX labels file?");
  write_file(dir.file("floats"), idx_images(1, 1, 1, 0xD03));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("floats"), dir.file("labels")), "floats", "float32", "0x0D",
                        "only unsigned bytes");
}

TEST(IdxErrors, TruncatedAndOversizedFiles) {
  TempDir dir;
  write_file(dir.file("labels"), idx_labels({1, 0}));
  const std::string images = idx_images(2, 3, 3);
  write_file(dir.file("cut"), images.substr(0, images.size() - 5));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("cut"), dir.file("labels")), "cut", "truncated",
                        "expected 18 bytes of data after the header, got 13");
  write_file(dir.file("header_cut"), images.substr(0, 10));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("header_cut"), dir.file("labels")), "truncated inside its header");
  write_file(dir.file("long"), images + "xx");
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("long"), dir.file("labels")), "2 bytes more than its header describes");
}

TEST(IdxErrors, DimensionsWhoseProductOverflowsAreRefusedClearly) {
  TempDir dir;
  write_file(dir.file("labels"), idx_labels({1, 0}));
  // 2^32-1 cubed does not fit in 64 bits; 2^31 * 2^31 * 4 wraps to exactly 0 bytes.
  write_file(dir.file("huge"), be32(0x803) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("huge"), dir.file("labels")), "huge", "4294967295 x 4294967295 x 4294967295",
                        "too large");
  write_file(dir.file("wraps"), be32(0x803) + be32(0x80000000) + be32(0x80000000) + be32(4));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("wraps"), dir.file("labels")), "wraps", "too large");
}

TEST(IdxErrors, CountMismatchAndLabelsOutOfRange) {
  TempDir dir;
  write_file(dir.file("images"), idx_images(2, 2, 2));
  write_file(dir.file("three"), idx_labels({1, 0, 1}));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("images"), dir.file("three")), "has 2 images", "has 3 labels");
  write_file(dir.file("labels"), idx_labels({1, 12}));
  EXPECT_ERROR_CONTAINS(load_idx(dir.file("images"), dir.file("labels"), 10), "label 12 of record 1",
                        "num_classes is 10", "0..9");
}

const char kFashion[] = "/usr/share/datasets/fashion-mnist/";

TEST(Idx, LoadsRealFashionMnistTestSet) {
  if (!std::filesystem::exists(kFashion)) GTEST_SKIP() << "Fashion-MNIST not installed at " << kFashion;
  const std::string base = kFashion;
  const Dataset test = load_idx(base + "t10k-images-idx3-ubyte.gz", base + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(test.x.shape(), (Shape{10000, 28, 28}));
  EXPECT_EQ(test.y.shape(), (Shape{10000, 1}));
  EXPECT_EQ(test.num_classes, 10);
  float lo = 1e9f, hi = -1e9f;
  for (int64_t i = 0; i < test.x.size(); ++i) {
    lo = std::min(lo, test.x[i]);
    hi = std::max(hi, test.x[i]);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 255.0f);
  std::vector<int> per_class(10, 0);
  for (int64_t i = 0; i < test.size(); ++i) ++per_class[static_cast<size_t>(test.y[i])];
  for (int count : per_class) EXPECT_EQ(count, 1000);  // the test set is balanced
}

// The whole training set: its shape, and what Fashion-MNIST is known to hold (6,000 images of
// each of the 10 classes, pixels 0-255). How fast it loads is a benchmark's business
// (tests never bound wall-clock time: the machine is shared).
TEST(Idx, LoadsTheFashionMnistTrainingSet) {
  if (!std::filesystem::exists(kFashion)) GTEST_SKIP() << "Fashion-MNIST not installed at " << kFashion;
  const std::string base = kFashion;
  const Dataset train = load_idx(base + "train-images-idx3-ubyte.gz", base + "train-labels-idx1-ubyte.gz", 10);
  EXPECT_EQ(train.x.shape(), (Shape{60000, 28, 28}));
  ASSERT_EQ(train.y.shape(), (Shape{60000, 1}));
  std::vector<int64_t> per_class(10, 0);
  for (int64_t i = 0; i < train.size(); ++i) {
    const float label = train.y.data()[i];
    ASSERT_TRUE(label >= 0.0f && label < 10.0f && label == std::floor(label)) << "label " << label << " of image " << i;
    ++per_class[static_cast<size_t>(label)];
  }
  for (int64_t count : per_class) EXPECT_EQ(count, 6000);
  const auto [low, high] = std::minmax_element(train.x.data(), train.x.data() + train.x.size());
  EXPECT_EQ(*low, 0.0f);
  EXPECT_EQ(*high, 255.0f);
}

// ---------------------------------------------------------------------------------------- NPY

using testing::npy_bytes;
using testing::raw_bytes;

TEST(Npy, EveryDtypeAndVersion) {
  TempDir dir;
  const std::string path = dir.file("a.npy");
  const std::vector<float> expected = {1, -2, 3, 4, 5, 6};
  struct Case {
    std::string descr, data;
  };
  const std::vector<Case> cases = {
      {"<f4", raw_bytes<float>({1, -2, 3, 4, 5, 6})},      {"<f8", raw_bytes<double>({1, -2, 3, 4, 5, 6})},
      {"<i4", raw_bytes<int32_t>({1, -2, 3, 4, 5, 6})},    {"<i8", raw_bytes<int64_t>({1, -2, 3, 4, 5, 6})},
      {"|i1", raw_bytes<int8_t>({1, -2, 3, 4, 5, 6})},
  };
  for (int major : {1, 2, 3}) {
    for (const Case& c : cases) {
      write_file(path, npy_bytes(c.descr, "(2, 3)", c.data, major));
      const Tensor t = load_npy(path);
      ASSERT_EQ(t.shape(), (Shape{2, 3})) << c.descr << " v" << major;
      for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(t[i], expected[static_cast<size_t>(i)]) << c.descr << " v" << major;
    }
  }
  write_file(path, npy_bytes("|u1", "(3,)", raw_bytes<uint8_t>({0, 128, 255})));
  const Tensor bytes = load_npy(path);
  ASSERT_EQ(bytes.shape(), (Shape{3}));
  EXPECT_EQ(bytes[2], 255.0f);
}

TEST(Npy, DatasetFromXAndYFiles) {
  TempDir dir;
  write_file(dir.file("x.npy"), npy_bytes("<f4", "(3, 2)", raw_bytes<float>({1, 2, 3, 4, 5, 6})));
  write_file(dir.file("y.npy"), npy_bytes("<i8", "(3,)", raw_bytes<int64_t>({0, 2, 1})));
  Dataset data = load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification);
  EXPECT_EQ(data.x.shape(), (Shape{3, 2}));
  EXPECT_EQ(data.y.shape(), (Shape{3, 1}));
  EXPECT_EQ(data.num_classes, 3);
  EXPECT_EQ(data.y[1], 2.0f);
  write_file(dir.file("t.npy"), npy_bytes("<f8", "(3, 2)", raw_bytes<double>({0.5, 1, 1.5, 2, 2.5, 3})));
  data = load_npy_dataset(dir.file("x.npy"), dir.file("t.npy"), Task::Regression);
  EXPECT_EQ(data.y.shape(), (Shape{3, 2}));
  EXPECT_EQ(data.y[4], 2.5f);
  EXPECT_EQ(data.num_classes, 0);
}

TEST(NpyErrors, BadMagicNpzAndVersion) {
  TempDir dir;
  write_file(dir.file("a.npy"), "not numpy at all");
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "a.npy", "magic", "numpy.save");
  write_file(dir.file("a.npz"), "PK\x03\x04 zip");
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npz")), ".npz archive");
  write_file(dir.file("v9.npy"), npy_bytes("<f4", "(1,)", raw_bytes<float>({1}), 9));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("v9.npy")), "version 9.0", "1.0, 2.0 and 3.0");
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("missing.npy")), "missing.npy", "No such file");
}

TEST(NpyErrors, UnsupportedDtypeFortranOrderAndScalar) {
  TempDir dir;
  write_file(dir.file("a.npy"), npy_bytes(">f4", "(1,)", raw_bytes<float>({1})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "dtype '>f4' is not supported", "<f4 (float32)", "|u1 (uint8)");
  write_file(dir.file("a.npy"), npy_bytes("<f2", "(1,)", "xx"));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "'<f2'", "<f8 (float64)");
  write_file(dir.file("a.npy"), npy_bytes("<f4", "(2, 2)", raw_bytes<float>({1, 2, 3, 4}), 1, "True"));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "Fortran", "ascontiguousarray");
  write_file(dir.file("a.npy"), npy_bytes("<f4", "()", raw_bytes<float>({1})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "0-dimensional");
}

TEST(NpyErrors, TruncatedDataAndNonFiniteValues) {
  TempDir dir;
  write_file(dir.file("a.npy"), npy_bytes("<f8", "(2, 3)", raw_bytes<double>({1, 2, 3, 4})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "truncated", "(2, 3) needs 48 bytes of data, got 32");
  write_file(dir.file("a.npy"), npy_bytes("<f4", "(2, 3)", raw_bytes<float>({1, 2, 3, 4, std::nanf(""), 6})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "element (1, 1) is NaN");
  write_file(dir.file("a.npy"), npy_bytes("<f8", "(2,)", raw_bytes<double>({1, 1e300})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "element (1,) is infinite");
  write_file(dir.file("a.npy"), npy_bytes("<f8", "(2,)", raw_bytes<double>({1, std::numeric_limits<double>::infinity()})));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "infinite");
}

TEST(NpyErrors, ShapesWhoseSizeOverflowsAreRefusedClearly) {
  TempDir dir;
  // 2^33 * 2^31 elements: the product wraps to 0 in 64 bits.
  write_file(dir.file("a.npy"), npy_bytes("<f4", "(8589934592, 2147483648)", ""));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("a.npy")), "a.npy", "(8589934592, 2147483648)", "too large");
  // 2^62 float32 elements: the byte count wraps to 0.
  write_file(dir.file("b.npy"), npy_bytes("<f4", "(1073741824, 1073741824, 4)", ""));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("b.npy")), "b.npy", "too large");
  // Empty, but the other dimensions still multiply beyond 64 bits.
  write_file(dir.file("c.npy"), npy_bytes("<f8", "(0, 1099511627776, 1099511627776)", ""));
  EXPECT_ERROR_CONTAINS(load_npy(dir.file("c.npy")), "c.npy", "too large");
  write_file(dir.file("d.npy"), npy_bytes("<f8", "(0, 3)", ""));
  EXPECT_EQ(load_npy(dir.file("d.npy")).size(), 0);
  // Found by the fuzzer: an empty float32 array copied zero bytes from a null pointer (UBSan).
  write_file(dir.file("e.npy"), npy_bytes("<f4", "(0,)", ""));
  EXPECT_EQ(load_npy(dir.file("e.npy")).size(), 0);
}

TEST(NpyErrors, CountMismatchAndBadLabels) {
  TempDir dir;
  write_file(dir.file("x.npy"), npy_bytes("<f4", "(3, 1)", raw_bytes<float>({1, 2, 3})));
  write_file(dir.file("y2.npy"), npy_bytes("<i4", "(2,)", raw_bytes<int32_t>({0, 1})));
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("y2.npy"), Task::Classification),
                        "x has 3 rows but y has 2");
  write_file(dir.file("y.npy"), npy_bytes("<f4", "(3,)", raw_bytes<float>({0, 1.5f, 1})));
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification),
                        "y.npy", "row 1", "non-negative integer");
  write_file(dir.file("y.npy"), npy_bytes("<i4", "(3,)", raw_bytes<int32_t>({0, 4, 1})));
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification, 3),
                        "label 4 of row 1", "num_classes is 3");
  write_file(dir.file("y.npy"), npy_bytes("<f4", "(3, 2)", raw_bytes<float>({1, 0, 0, 1, 1, 0})));
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification), "argmax");
  // Found by fuzzing: a label beyond int64 made the cast to an integer undefined behaviour.
  write_file(dir.file("y.npy"), npy_bytes("<f8", "(3,)", raw_bytes<double>({0, 1.7e19, 1})));
  EXPECT_ERROR_CONTAINS(load_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Task::Classification),
                        "row 1", "too large for a class index", "task regression");
}

// ---------------------------------------------------------------------- Dataset and splitting

Dataset counting_dataset(int64_t n) {
  Dataset data;
  std::vector<float> x, y;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(10 * i));
    x.push_back(static_cast<float>(10 * i + 1));
    y.push_back(static_cast<float>(i % 2));
  }
  data.x = Tensor({n, 2}, x);
  data.y = Tensor({n, 1}, y);
  data.num_classes = 2;
  data.source = "counting";
  return data;
}

TEST(Dataset, SubsetAndSliceCopyTheRightRows) {
  const Dataset data = counting_dataset(5);
  const Dataset picked = data.subset({4, 1});
  EXPECT_EQ(picked.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(picked.x[0], 40.0f);
  EXPECT_EQ(picked.x[3], 11.0f);
  EXPECT_EQ(picked.y[1], 1.0f);
  EXPECT_EQ(picked.num_classes, 2);
  const Dataset middle = data.slice(1, 3);
  EXPECT_EQ(middle.size(), 2);
  EXPECT_EQ(middle.x[0], 10.0f);
  EXPECT_EQ(middle.source, "counting");
  EXPECT_EQ(data.slice(2, 2).size(), 0);
  EXPECT_ERROR_CONTAINS(data.subset({0, 5}), "row index 5", "5 rows");
  EXPECT_ERROR_CONTAINS(data.slice(3, 6), "rows [3, 6)", "5 rows");
  EXPECT_ERROR_CONTAINS(data.slice(-1, 2), "out of range");
}

TEST(Dataset, SplitValidationTakesTheLastRows) {
  const Dataset data = counting_dataset(10);
  Dataset train, validation;
  split_validation(data, 0.2, 0, train, validation);
  EXPECT_EQ(train.size(), 8);
  EXPECT_EQ(validation.size(), 2);
  EXPECT_EQ(validation.x[0], 80.0f);
  split_validation(data, 0.0, 3, train, validation);
  EXPECT_EQ(train.size(), 7);
  EXPECT_EQ(validation.x[0], 70.0f);
}

TEST(Dataset, SplitValidationRejectsImpossibleSizes) {
  const Dataset data = counting_dataset(10);
  Dataset train, validation;
  EXPECT_ERROR_CONTAINS(split_validation(data, 0.0, 0, train, validation), "fraction 0", "between 0 and 1");
  EXPECT_ERROR_CONTAINS(split_validation(data, 1.0, 0, train, validation), "fraction 1", "between 0 and 1");
  EXPECT_ERROR_CONTAINS(split_validation(data, 1.5, 0, train, validation), "between 0 and 1");
  EXPECT_ERROR_CONTAINS(split_validation(data, 0.01, 0, train, validation), "gives 0 validation rows");
  EXPECT_ERROR_CONTAINS(split_validation(data, 0.0, 10, train, validation), "count 10", "between 1 and 9");
  EXPECT_ERROR_CONTAINS(split_validation(data, 0.0, -2, train, validation), "count -2");
}

// ------------------------------------------------------------------------------------- Scaler

TEST(Scaler, StandardUsesTrainingMeanAndPopulationStdConstantFeatureSafe) {
  // Feature 0: 1, 3, 5 -> mean 3, population std sqrt(8/3). Feature 1 is constant.
  const Tensor train({3, 2}, {1, 10, 3, 10, 5, 10});
  Scaler scaler;
  scaler.kind = "standard";
  scaler.fit(train);
  Tensor x = train;
  scaler.apply(x);
  const float inv_std = static_cast<float>(1.0 / std::sqrt(8.0 / 3.0));
  EXPECT_FLOAT_EQ(x[0], -2.0f * inv_std);
  EXPECT_FLOAT_EQ(x[2], 0.0f);
  EXPECT_FLOAT_EQ(x[4], 2.0f * inv_std);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(scaler.factor[1], 1.0f);
  // Applied to other data, the training statistics are used (no refit).
  Tensor other({1, 2}, {7, 12});
  scaler.apply(other);
  EXPECT_FLOAT_EQ(other[0], 4.0f * inv_std);
  EXPECT_FLOAT_EQ(other[1], 2.0f);
}

TEST(Scaler, MinMaxMapsTrainingRangeToUnitIntervalConstantFeatureSafe) {
  const Tensor train({3, 2}, {0, 5, 5, 5, 10, 5});
  Scaler scaler;
  scaler.kind = "minmax";
  scaler.fit(train);
  Tensor x = train;
  scaler.apply(x);
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_EQ(x[2], 0.5f);
  EXPECT_EQ(x[4], 1.0f);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[5], 0.0f);
}

TEST(Scaler, DivideAndNone) {
  Scaler scaler;
  scaler.kind = "divide";
  scaler.divide_by = 255.0f;
  Tensor images({1, 2, 2}, {0, 51, 255, 510});
  scaler.fit(images);
  scaler.apply(images);
  EXPECT_EQ(images[1], 0.2f);
  EXPECT_EQ(images[2], 1.0f);
  EXPECT_EQ(images[3], 2.0f);
  Scaler none;
  Tensor x({1, 2}, {3, 4});
  none.fit(x);
  none.apply(x);
  EXPECT_EQ(x[0], 3.0f);
  EXPECT_EQ(x[1], 4.0f);
}

TEST(Scaler, JsonRoundTripIsExact) {
  const Tensor train({4, 3}, {0.1f, 2, -3, 1.7f, 2, 8, 0.3f, 5.5f, 1e-3f, 9, 2, 0.25f});
  for (const std::string kind : {"standard", "minmax", "divide", "none"}) {
    Scaler scaler;
    scaler.kind = kind;
    scaler.divide_by = 3.7f;
    scaler.fit(train);
    const Scaler back = Scaler::from_json(nlohmann::json::parse(scaler.to_json().dump()));
    EXPECT_EQ(back.kind, kind);
    EXPECT_EQ(back.offset, scaler.offset);
    EXPECT_EQ(back.factor, scaler.factor);
    if (kind == "divide") {
      EXPECT_EQ(back.divide_by, 3.7f);
    }
    Tensor a = train, b = train;
    scaler.apply(a);
    back.apply(b);
    for (int64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << kind;
  }
}

TEST(ScalerErrors, UnknownKindMismatchUnfittedAndBadDivisor) {
  const Tensor x({2, 2}, {1, 2, 3, 4});
  Scaler scaler;
  scaler.kind = "zscore";
  EXPECT_ERROR_CONTAINS(scaler.fit(x), "unknown scaler kind 'zscore'", "none, standard, minmax, divide");
  EXPECT_ERROR_CONTAINS(Scaler::from_json({{"kind", "log"}}), "'log'", "none, standard, minmax, divide");
  EXPECT_ERROR_CONTAINS(Scaler::from_json({{"kind", "standard"}, {"offset", {1.0}}}), "1 offsets but 0 factors");
  scaler.kind = "standard";
  Tensor copy = x;
  EXPECT_ERROR_CONTAINS(scaler.apply(copy), "before it was fitted");
  scaler.fit(x);
  Tensor wider({1, 3}, {1, 2, 3});
  EXPECT_ERROR_CONTAINS(scaler.apply(wider), "fitted on 2 features", "has 3");
  scaler.kind = "divide";
  scaler.divide_by = 0.0f;
  EXPECT_ERROR_CONTAINS(scaler.fit(x), "divide_by", "non-zero");
  Scaler empty_fit;
  empty_fit.kind = "minmax";
  EXPECT_ERROR_CONTAINS(empty_fit.fit(Tensor({0, 2})), "empty");
}


// ------------------------------------------------------------------ tables as people have them

CsvOptions table_options() {
  CsvOptions o;
  o.text_labels = true;
  o.auto_categorical = true;
  return o;
}

TEST(CsvTable, TextLabelsBecomeSortedClassesAndIdsPassThrough) {
  TempDir dir;
  CsvOptions o = table_options();
  o.label = "species";
  o.id = "name";
  o.drop = {"note"};
  // A byte-order mark, a quoted id with the delimiter and a doubled quote, a note with a newline.
  const Dataset d = load_csv_text(dir,
                                  "\xEF\xBB\xBFname,x,note,species\n"
                                  "\"a, \"\"first\"\"\",1.5,\"two\nlines\",virginica\n"
                                  "b,2,,setosa\n"
                                  "c,3,ok,versicolor\n"
                                  "d,4,ok,setosa\n",
                                  o);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.x.shape(), (Shape{4, 1}));
  EXPECT_EQ(d.column_names, (std::vector<std::string>{"x"}));
  EXPECT_EQ(d.target_names, (std::vector<std::string>{"species"}));
  EXPECT_EQ(d.y[0], 2.0f);
  EXPECT_EQ(d.y[1], 0.0f);
  EXPECT_EQ(d.y[2], 1.0f);
  EXPECT_EQ(d.id_name, "name");
  EXPECT_EQ(d.ids, (std::vector<std::string>{"a, \"first\"", "b", "c", "d"}));
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 4, 5, 6}));  // the quoted newline spans line 3
  // Given class names (a trained model's), labels map to them; others are refused by name.
  CsvOptions known = o;
  known.class_names = {"setosa", "versicolor", "virginica", "zebra"};
  EXPECT_EQ(load_csv_text(dir, "name,x,note,species\nq,1,,zebra\n", known).y[0], 3.0f);
  known.class_names = {"setosa", "versicolor"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "name,x,note,species\nq,1,,virginica\n", known), "line 2, column 4",
                        "\"virginica\" is not one of the training classes", "'setosa', 'versicolor'");
}

TEST(CsvTable, FeaturesByNameOrIndexInOrderSemicolonAndTabDelimiters) {
  TempDir dir;
  CsvOptions o = table_options();
  o.features = {"c", "0"};
  o.label = "y";
  o.delimiter = ';';
  const Dataset d = load_csv_text(dir, "a;b;c;y\n1;2;3;0\n4;5;6;1\n", o);
  EXPECT_EQ(d.column_names, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(d.x[0], 3.0f);
  EXPECT_EQ(d.x[1], 1.0f);
  EXPECT_EQ(d.x[3], 4.0f);
  o.delimiter = '\t';
  EXPECT_EQ(load_csv_text(dir, "a\tb\tc\ty\n1\t2\t3\t0\n", o).x[0], 3.0f);
}

TEST(CsvTable, SeveralLabelColumnsAreRegressionTargets) {
  TempDir dir;
  CsvOptions o;
  o.task = Task::Regression;
  o.labels = {"t2", "t1"};
  const Dataset d = load_csv_text(dir, "t1,x,t2\n1,2,3\n4,5,6\n", o);
  EXPECT_EQ(d.y.shape(), (Shape{2, 2}));
  EXPECT_EQ(d.y[0], 3.0f);
  EXPECT_EQ(d.y[1], 1.0f);
  EXPECT_EQ(d.target_names, (std::vector<std::string>{"t2", "t1"}));
  EXPECT_EQ(d.x.shape(), (Shape{2, 1}));
  CsvOptions classification;
  classification.labels = {"t1", "t2"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "t1,x,t2\n1,2,3\n", classification), "one label column", "regression");
}

TEST(CsvTable, TextColumnsAreCategoriesAndMissingCellsNaN) {
  TempDir dir;
  CsvOptions o = table_options();
  o.allow_missing = true;
  o.categorical = {"zip"};  // numbers, but a category
  const Dataset d = load_csv_text(dir, "color,zip,w,y\nred,100,1,0\nblue,200,NA,1\n,100,3,0\ngreen,300,,1\n", o);
  ASSERT_EQ(d.levels.size(), 3u);
  EXPECT_EQ(d.levels[0], (std::vector<std::string>{"blue", "green", "red"}));
  EXPECT_EQ(d.levels[1], (std::vector<std::string>{"100", "200", "300"}));
  EXPECT_TRUE(d.levels[2].empty());
  EXPECT_EQ(d.x[0], 2.0f);  // red
  EXPECT_EQ(d.x[1], 0.0f);  // "100"
  EXPECT_TRUE(std::isnan(d.x[5]));  // NA
  EXPECT_TRUE(std::isnan(d.x[6]));  // empty text cell
  EXPECT_TRUE(std::isnan(d.x[11]));
  EXPECT_TRUE(d.has_text());
  for (const char* missing : {"", "NA", "NaN", "nan", "null", "N/A"}) EXPECT_TRUE(is_missing_cell(missing)) << missing;
  EXPECT_FALSE(is_missing_cell("0"));
}

TEST(CsvTable, BlanksAroundAnUnquotedMissingMarkerStillMakeItMissing) {
  // The scanner trims unquoted cells, so " NA " is NA (a number's or a category's cell alike); a
  // quoted cell keeps its blanks, as the ONNX graph's text input would see them.
  TempDir dir;
  CsvOptions o = table_options();
  o.allow_missing = true;
  const Dataset d = load_csv_text(dir, "w,color,y\n NA ,red,0\n2,\t None ,1\n3,\" NA \",0\n", o);
  EXPECT_TRUE(std::isnan(d.x[0]));
  EXPECT_TRUE(std::isnan(d.x[3]));
  ASSERT_EQ(d.levels.size(), 2u);
  EXPECT_EQ(d.levels[1], (std::vector<std::string>{" NA ", "red"}));
  EXPECT_FALSE(is_missing_cell(" NA "));
}

TEST(CsvTableErrors, MissingCellsAreRefusedByDefaultWithRowAndColumn) {
  TempDir dir;
  // The default stays "refuse", with the existing wording.
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,,0\n", table_options()), "line 2, column 2",
                        "cell \"\" is not a number; the cell is empty; fill in or drop missing values");
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,,cat\n", table_options()), "line 2, column 2",
                        "cell \"\" is not a number; the cell is empty; fill in or drop missing values", "impute");
  CsvOptions o = table_options();
  o.id = "a";
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,NA,0\n", o), "line 2, column 2", "\"NA\"", "missing",
                        "impute");
  CsvOptions allow = table_options();
  allow.allow_missing = true;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,\n", allow), "line 2, column 3", "label is missing");
}

TEST(CsvTableErrors, UnknownColumnNamesTheColumnTheFileAndTheColumns) {
  TempDir dir;
  CsvOptions o = table_options();
  o.features = {"a", "petal"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", o), "feature column 'petal'", "data.csv",
                        "the columns are: 'a', 'b', 'y'");
  o.features = {};
  o.drop = {"nope"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", o), "dropped column 'nope'", "'a', 'b', 'y'");
  o.drop = {};
  o.id = "key";
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", o), "id column 'key'", "data.csv");
  o.id = "7";
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", o), "index 7 is out of range", "3 columns");
  o.id = "";
  o.features = {"y"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n", o), "feature column 'y'", "also a label column");
}

TEST(CsvTableErrors, LabelColumnWithNumbersAndTextIsRefused) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,cat\n2,1\n3,dog\n", table_options()), "label column 'y'",
                        "both numbers (line 3: \"1\")", "class names (line 2: \"cat\")");
}

TEST(CsvTableErrors, FeatureColumnWithNumbersAndTextIsRefusedUnlessDeclared) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,y\n1,0\n1.5abc,1\n", table_options()), "line 3, column 1",
                        "column 'a' holds both numbers (line 2: \"1\") and text (\"1.5abc\")", "categorical: [a]");
  CsvOptions declared = table_options();
  declared.categorical = {"a"};
  EXPECT_EQ(load_csv_text(dir, "a,y\n1,0\n1.5abc,1\n", declared).levels[0], (std::vector<std::string>{"1", "1.5abc"}));
  // Without auto-detection, text stays an error as it always was.
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,y\n1,2,0\n1,abc,1\n"), "cell \"abc\" is not a number");
}

TEST(CsvTableErrors, DuplicateColumnNames) {
  TempDir dir;
  CsvOptions o = table_options();
  o.label = "y";
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,a,y\n1,2,0\nx,3,1\n", o), "column name 'a' appears twice", "columns 1 and 2",
                        "rename");
  o.features = {"a"};
  EXPECT_ERROR_CONTAINS(load_csv_text(dir, "a,b,a,y\n1,2,3,0\n", o), "column name 'a'", "appears 2 times",
                        "columns 1 and 3");
}

// -------------------------------------------------------------------------- preprocessing

Dataset table(const TempDir& dir, const std::string& text) {
  CsvOptions o = table_options();
  o.allow_missing = true;
  return load_csv_text(dir, text, o);
}

TEST(Preprocessing, ImputesOneHotEncodesAndAddsIndicators) {
  TempDir dir;
  const Dataset d = table(dir, "w,color,y\n1,red,0\n,blue,1\n4,red,0\n5,,1\n");
  for (const auto& [strategy, expected] : std::vector<std::pair<std::string, float>>{
           {"mean", 10.0f / 3.0f}, {"median", 4.0f}, {"most_frequent", 1.0f}}) {
    Preprocessing p;
    p.impute = strategy;
    p.missing_indicator = true;
    p.fit(d);
    EXPECT_FLOAT_EQ(p.fill[0], expected) << strategy;
    EXPECT_EQ(p.fill[1], 1.0f) << strategy;  // text: the most frequent category, red
    EXPECT_EQ(p.categories[1], (std::vector<std::string>{"blue", "red"}));
    EXPECT_EQ(p.indicator_columns, (std::vector<int64_t>{0, 1}));
    EXPECT_EQ(p.output_names(), (std::vector<std::string>{"w", "color=blue", "color=red", "w_missing", "color_missing"}));
    const Tensor x = p.transform(d);
    ASSERT_EQ(x.shape(), (Shape{4, 5}));
    const std::vector<float> row1(x.data() + 5, x.data() + 10), row3(x.data() + 15, x.data() + 20);
    EXPECT_EQ(row1, (std::vector<float>{expected, 1, 0, 1, 0})) << strategy;
    EXPECT_EQ(row3, (std::vector<float>{5, 0, 1, 0, 1})) << strategy;
  }
  // Round trip through JSON.
  Preprocessing p;
  p.impute = "mean";
  p.fit(d);
  EXPECT_EQ(Preprocessing::from_json(p.to_json()).to_json(), p.to_json());
}

TEST(Preprocessing, FittedOnTheTrainingRowsOnly) {
  TempDir dir;
  const Dataset all = table(dir, "w,color,y\n1,red,0\n3,blue,1\n,red,0\n1000,purple,1\n");
  const Dataset train = all.subset({0, 1, 2});
  Preprocessing p;
  p.impute = "mean";
  p.fit(train);
  EXPECT_FLOAT_EQ(p.fill[0], 2.0f);  // not pulled towards the held-out 1000
  EXPECT_EQ(p.categories[1], (std::vector<std::string>{"blue", "red"}));  // no purple
  const Dataset held = all.subset({3});
  EXPECT_ERROR_CONTAINS(p.transform(held), "column 'color'", "\"purple\"", "line 5", "data.csv",
                        "training data did not have", "on_unknown: zeros");
  p.on_unknown = "zeros";
  const Tensor x = p.transform(held);
  EXPECT_EQ(std::vector<float>(x.data(), x.data() + 3), (std::vector<float>{1000, 0, 0}));
}

TEST(Preprocessing, ColumnWithNoValueInTrainingIsRefused) {
  TempDir dir;
  const Dataset d = table(dir, "w,v,y\n1,,0\n2,NA,1\n");
  Preprocessing p;
  p.impute = "median";
  EXPECT_ERROR_CONTAINS(p.fit(d), "column 'v'", "no value in any of the 2 training rows", "drop: [v]");
}

TEST(Preprocessing, NumericTensorsAreImputedAndTextNeedsATable) {
  TempDir dir;
  Preprocessing p;
  p.impute = "mean";
  p.fit(table(dir, "a,b,y\n1,2,0\n3,,1\n"));
  const Tensor x = p.transform(Tensor({1, 2}, {std::nanf(""), 5.0f}));
  EXPECT_EQ(x[0], 2.0f);
  EXPECT_EQ(x[1], 5.0f);
  Preprocessing text;
  text.fit(table(dir, "a,c,y\n1,red,0\n"));
  EXPECT_ERROR_CONTAINS(text.transform(Tensor({1, 2}, {1.0f, 0.0f})), "column 'c'", "text");
  Preprocessing none;
  none.fit(table(dir, "a,b,y\n1,2,0\n"));
  EXPECT_FALSE(none.active());
}

// Sequences (steps, features): per_feature takes each feature's statistics over every step of
// every sample, repeated per step; per value (the default) each (step, feature) on its own.
TEST(Scaler, PerFeatureAcrossStepsOfSequences) {
  // 2 samples x 3 steps x 2 features: feature 0 holds 1..6, feature 1 holds 10, 20, ..., 60.
  Tensor x({2, 3, 2}, {1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60});
  for (const std::string kind : {"standard", "minmax"}) {
    Scaler per_feature;
    per_feature.kind = kind;
    per_feature.per_feature = true;
    per_feature.fit(x);
    ASSERT_EQ(per_feature.offset.size(), 6u);
    const double mean0 = 3.5, mean1 = 35.0, sd0 = std::sqrt(17.5 / 6.0), sd1 = 10.0 * sd0;
    for (int step = 0; step < 3; ++step) {
      EXPECT_FLOAT_EQ(per_feature.offset[step * 2], kind == "standard" ? mean0 : 1.0f);
      EXPECT_FLOAT_EQ(per_feature.offset[step * 2 + 1], kind == "standard" ? mean1 : 10.0f);
      EXPECT_FLOAT_EQ(per_feature.factor[step * 2], kind == "standard" ? 1.0 / sd0 : 1.0 / 5.0);
      EXPECT_FLOAT_EQ(per_feature.factor[step * 2 + 1], kind == "standard" ? 1.0 / sd1 : 1.0 / 50.0);
    }
    Scaler per_value;
    per_value.kind = kind;
    per_value.fit(x);
    EXPECT_FLOAT_EQ(per_value.offset[0], kind == "standard" ? 2.5f : 1.0f);  // step 0 of feature 0: 1 and 4
    const Scaler again = Scaler::from_json(per_feature.to_json());
    EXPECT_TRUE(again.per_feature);
    EXPECT_EQ(again.offset, per_feature.offset);
  }
}

}  // namespace
}  // namespace nntune
