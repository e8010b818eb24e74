package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/shopchat/shopchat/intents"
)

// config is the whole configuration, documented in docs/configuration.md. Keys are the mapstructure
// names joined with dots; the environment variable is SHOPCHAT_ + the key in upper case with dots as
// underscores (log.format -> SHOPCHAT_LOG_FORMAT).
type config struct {
	Addr    string     `mapstructure:"addr"`
	DataDir string     `mapstructure:"data_dir"`
	DB      string     `mapstructure:"db"`
	Log     logConfig  `mapstructure:"log"`
	Chat    chatConfig `mapstructure:"chat"`
	Models  struct {
		Intent      string `mapstructure:"intent"`
		Recommender string `mapstructure:"recommender"`
		// WordVectors is the pretrained word-vector file the demo intent model trains with when serve
		// --demo trains it ("" none; make run passes the one make vectors fetches).
		WordVectors string `mapstructure:"word_vectors"`
		// IntentPrecision, when set, holds the intent model's layers at this precision (int8 or f32)
		// whatever the model was trained with ("" keeps the model's own; intents.LoadOptions).
		IntentPrecision string `mapstructure:"intent_precision"`
	} `mapstructure:"models"`
	Handoff handoffConfig `mapstructure:"handoff"` // human handoff and the agent console (cmd_agent.go)
	Cluster clusterConfig `mapstructure:"cluster"` // several nodes sharing PostgreSQL and NATS (serve_cluster.go)
}

type logConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

func setDefaults(v *viper.Viper) {
	v.SetDefault("addr", "127.0.0.1:8080")
	v.SetDefault("data_dir", "var")
	v.SetDefault("db", "")
	v.SetDefault("log.level", "info")
	v.SetDefault("log.format", "text")
	v.SetDefault("models.intent", "")
	v.SetDefault("models.recommender", "")
	v.SetDefault("models.word_vectors", "")
	v.SetDefault("models.intent_precision", "")
	setChatDefaults(v)
	setHandoffDefaults(v)
	setClusterDefaults(v)
}

func addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("config", "", "configuration file (YAML or TOML); env SHOPCHAT_CONFIG")
	f.String("log-level", "info", "log level: debug, info, warn, error")
	f.String("log-format", "text", "log format: text or json")
	f.String("data-dir", "var", "directory for the database and models")
}

// flagKeys maps flag names to configuration keys where they differ.
var flagKeys = map[string]string{
	"log-level":         "log.level",
	"log-format":        "log.format",
	"data-dir":          "data_dir",
	"intent-model":      "models.intent",
	"recommender-model": "models.recommender",
	"word-vectors":      "models.word_vectors",
	"allowed-origin":    "chat.allowed_origins",
	"ip-rate":           "chat.ip_rate",
	"max-conns-per-ip":  "chat.max_conns_per_ip",
	"db-sync":           "chat.db_synchronous",
}

// loadConfig reads the configuration for cmd: flags that were set, then environment, then the file,
// then defaults.
func loadConfig(cmd *cobra.Command) (*config, *viper.Viper, error) {
	v := viper.New()
	setDefaults(v)
	v.SetEnvPrefix("SHOPCHAT")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	var bindErr error
	bind := func(fl *pflag.Flag) {
		key, ok := flagKeys[fl.Name]
		if !ok {
			key = strings.ReplaceAll(fl.Name, "-", "_")
		}
		if err := v.BindPFlag(key, fl); err != nil {
			bindErr = err
		}
	}
	cmd.Flags().VisitAll(bind)
	cmd.InheritedFlags().VisitAll(bind)
	if bindErr != nil {
		return nil, nil, bindErr
	}
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, nil, usageError{fmt.Errorf("config file %s: %w", file, err)}
		}
	}
	var c config
	if err := v.Unmarshal(&c); err != nil {
		return nil, nil, usageError{fmt.Errorf("config: %w", err)}
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "shopchat.db")
	}
	if c.Models.Intent == "" {
		c.Models.Intent = filepath.Join(c.DataDir, "models", "intent")
	}
	if err := intents.ValidPrecision(c.Models.IntentPrecision); err != nil {
		return nil, nil, usageError{fmt.Errorf("config models.intent_precision: %w", err)}
	}
	if c.Models.Recommender == "" {
		c.Models.Recommender = filepath.Join(c.DataDir, "models", "recommender")
	}
	return &c, v, nil
}

// newLogger builds the slog logger the configuration asks for.
func newLogger(c logConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, usageError{fmt.Errorf("log level %q: want debug, info, warn or error", c.Level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usageError{fmt.Errorf("log format %q: want text or json", c.Format)}
	}
}

// setup loads the configuration and the logger, the first step of every subcommand that runs.
func setup(cmd *cobra.Command) (*config, *slog.Logger, error) {
	c, _, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	log, err := newLogger(c.Log, os.Stderr)
	if err != nil {
		return nil, nil, err
	}
	return c, log, nil
}

var errNotYet = errors.New("not available in this build yet")
