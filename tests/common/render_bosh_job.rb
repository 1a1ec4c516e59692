#!/usr/bin/env ruby
# Renders a BOSH job's templates as the director would, with the spec's defaults under the
# given properties: render_bosh_job.rb JOB_DIR PROPERTIES_YAML OUT_DIR. p() without a default
# and without a value raises, as in BOSH; if_p yields only for properties that are set.
# Only Ruby's own erb and yaml: the test suite needs no BOSH CLI.
require "erb"
require "yaml"
require "fileutils"
require "ostruct"

job_dir, props_file, out_dir = ARGV
spec = YAML.safe_load(File.read(File.join(job_dir, "spec")))
given = YAML.safe_load(File.read(props_file)) || {}

def dig(hash, dotted)
  dotted.split(".").reduce(hash) { |h, k| h.is_a?(Hash) && h.key?(k) ? h[k] : (return nil) }
end

class Context
  UNSET = Object.new
  def initialize(spec, given)
    @defaults = spec.fetch("properties", {})
    @given = given
    @spec = OpenStruct.new(name: spec["name"], address: "198.18.90.10", ip: "198.18.90.10",
                           deployment: "test", id: "0-0", index: 0, az: "z1", bootstrap: true)
  end
  attr_reader :spec

  def p(name, default = UNSET)
    raise "unknown property #{name} (not in the job's spec)" unless @defaults.key?(name)
    v = dig(@given, name)
    return v unless v.nil?
    d = @defaults[name]
    return d["default"] if d.is_a?(Hash) && d.key?("default")
    return default unless default.equal?(UNSET)
    raise "Can't find property '#{name}'"
  end

  def if_p(*names)
    values = names.map { |n| p(n, nil) }
    yield(*values) unless values.any?(&:nil?)
  end

  def render(text) = ERB.new(text, trim_mode: "-").result(binding)
end

ctx = Context.new(spec, given)
spec.fetch("templates").each do |src, dst|
  out = File.join(out_dir, dst)
  FileUtils.mkdir_p(File.dirname(out))
  File.write(out, ctx.render(File.read(File.join(job_dir, "templates", src))))
end
