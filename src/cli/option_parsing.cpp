#include "cli/option_parsing.h"

#include <sstream>

namespace xcap::cli {

void add(po::options_description& d, const char* names, const po::value_semantic* value,
         const std::string& help) {
  d.add_options()(names, value, help.c_str());
}

void store_command_line(const std::vector<std::string>& args, const po::options_description& desc,
                        const char* rest_name, std::vector<std::string>* rest,
                        std::initializer_list<po::variables_map*> into) {
  po::options_description hidden;
  hidden.add_options()(rest_name, po::value(rest)->multitoken());
  po::options_description cmdline;
  cmdline.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add(rest_name, -1);
  const auto parsed = po::command_line_parser(args).options(cmdline).positional(pos).run();
  for (po::variables_map* vm : into) po::store(parsed, *vm);
}

std::string help_text(const char* usage, const po::options_description& desc) {
  std::ostringstream os;
  os << usage << desc;
  return os.str();
}

Result<MergedOutputFlags> parse_merged_output(const std::string& format, const std::string& write,
                                              bool write_given, bool stdout_is_terminal) {
  if (format != "pcapng" && format != "pcap")
    return invalid_input("--format '" + format + "': expected pcapng or pcap");
  if (write_given && write.empty())
    return invalid_input("-w: expected a path, or - for standard output");
  if (write.empty() && stdout_is_terminal)
    return invalid_input(
        "-w PATH is required when standard output is a terminal (-w - writes there anyway)");
  return MergedOutputFlags{write.empty() ? "-" : write, format == "pcapng"};
}

}  // namespace xcap::cli
